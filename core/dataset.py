"""Loading and validating the listings: one clean table plus a list of per-row problems.

A bad row never stops the load: it is reported (row number, id, what is wrong) and left out, or
kept with the faulty part blanked (an unsafe image name keeps the listing without its photo).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image

from core.errors import DatasetError, UnsafeImageNameError
from core.images import open_image, resolve_image_path
from core.locations import data_dir, find_csv, find_images_dir, is_sample_dir
from core.specifications import specification_text

REQUIRED_COLUMNS = ("uniq_id", "product_name", "product_category_tree", "image", "description")
# Below this many listings a category cannot be stratified into 5 cross-validation folds.
MIN_LISTINGS_PER_CATEGORY = 5
# The listings as loaded, before any operator correction (see core.labels.versions).
ORIGINAL_VERSION = "original"

_TREE = re.compile(r'^\[\s*"(?P<path>.*)"\s*\]$', re.DOTALL)



@dataclass(frozen=True)
class RowProblem:
    """One row of the CSV that was left out or partly blanked, and why."""

    row: int  # 1-based data row, the header not counted
    uniq_id: str
    problem: str


@dataclass
class Dataset:
    """The usable listings and everything learnt while loading them.

    ``listings`` has one row per product: uniq_id, product_name, description, category, image
    (the name in the CSV), image_path (absolute path as a string, or None when there is no
    usable photo file), image_sha (the photo's content hash, or None), specifications (the values
    sellers filled in, as text; empty when the CSV has none) and category_tree (as in the CSV). A corrected version
    (``version`` other than the original) also has original_category, the label before correction.
    """

    listings: pd.DataFrame
    categories: list[str]
    problems: list[RowProblem]
    csv_path: Path
    images_dir: Path
    fingerprint: str
    dropped_categories: dict[str, int] = field(default_factory=dict)
    version: str = ORIGINAL_VERSION

    @property
    def is_sample(self) -> bool:
        """Whether these are the few listings shipped with Vitrine rather than a full dataset."""
        return is_sample_dir(self.csv_path.parent)

    @property
    def missing_images(self) -> pd.DataFrame:
        """Listings whose photo file is absent (or whose image name was refused)."""
        return self.listings[self.listings["image_path"].isna()]

    def listing(self, uniq_id: str) -> pd.Series:
        """One listing by id."""
        return self.listings.loc[self.listings["uniq_id"] == uniq_id].iloc[0]

    def unusable_reason(self) -> str | None:
        """Why no scenario can learn or be scored on these listings, in the user's words; None when
        they can (at least two categories are left after the rows with problems, and a corrected
        version leaves each category enough listings to split and cross-validate)."""
        if len(self.categories) < 2:
            found = f"only {self.categories[0]!r}" if self.categories else "none"
            return (f"Classifying needs at least 2 categories with {MIN_LISTINGS_PER_CATEGORY} or more usable "
                    f"listings each; {self.csv_path.name} has {found} ({len(self.listings)} usable listing(s), "
                    f"{len(self.problems)} row problem(s)). The Data quality page and `python -m core data report` "
                    "list the problems.")
        # Loading leaves out a category this small; a version's corrections can make one, and cannot leave it out.
        counts = self.listings["category"].value_counts().reindex(self.categories, fill_value=0)
        small = counts[counts < MIN_LISTINGS_PER_CATEGORY]
        if small.empty:
            return None
        found = ", ".join(f"{category!r} {count} listing(s)" for category, count in small.items())
        return (f"Classifying needs {MIN_LISTINGS_PER_CATEGORY} or more listings in each category to split and "
                f"cross-validate them; the data version {self.version} leaves {found}. Run on another version, or "
                f"write one whose corrections leave each category {MIN_LISTINGS_PER_CATEGORY} or more.")


def sample_listings(dataset: Dataset) -> dict[str, pd.Series]:
    """One listing of each category with a photo (the first in the CSV), by a label naming both: the
    samples a new user can try on the explain page."""
    with_photo = dataset.listings.dropna(subset=["image_path"])
    firsts = with_photo.groupby("category", sort=True).head(1)
    return {f"{row['category']}: {row['product_name'][:60]}": row for _, row in firsts.iterrows()}


def listing_photo(listing: pd.Series) -> Image.Image | None:
    """A listing's photo, decoded; None when it has none. Raises ImageError when it cannot be read."""
    path = listing["image_path"]
    return open_image(Path(path)) if isinstance(path, str) else None


def optional_strings(column: pd.Series) -> list[str | None]:
    """A text column as a list, with None where a value is missing (pandas gives NaN)."""
    return [value if isinstance(value, str) else None for value in column]


def main_category(tree: str) -> str | None:
    """The first level of a ``product_category_tree`` such as ``["A >> B >> C"]``, or None if malformed."""
    match = _TREE.match(tree.strip())
    if match is None:
        return None
    first = match.group("path").split(">>")[0].strip()
    return first or None


def read_csv(csv_path: Path) -> pd.DataFrame:
    """Read the listings CSV as text columns; a clear DatasetError for unreadable or incomplete files."""
    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError as exc:
        raise DatasetError(f"The listings file {csv_path} does not exist.") from exc
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(f"The listings file {csv_path.name} is empty.") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"The listings file {csv_path.name} is not UTF-8 text.") from exc
    except pd.errors.ParserError as exc:
        raise DatasetError(f"The listings file {csv_path.name} is not a well-formed CSV: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"The listings file {csv_path.name} is missing the column(s) {', '.join(missing)}; "
            f"it needs {', '.join(REQUIRED_COLUMNS)}."
        )
    return frame


def load_dataset(folder: Path | None = None) -> Dataset:
    """Load, validate and describe the listings in ``folder`` (default: the configured data folder)."""
    folder = folder or data_dir()
    csv_path = find_csv(folder)
    if csv_path is None:
        raise DatasetError(f"No listings CSV found in {folder}.")
    images_dir = find_images_dir(folder)
    raw = read_csv(csv_path)
    rows, problems = _validate_rows(raw, images_dir)
    listings = pd.DataFrame(rows, columns=["uniq_id", "product_name", "description", "category", "image", "image_path",
                                           "image_sha", "specifications", "category_tree"])
    counts = listings["category"].value_counts()
    too_small = counts[counts < MIN_LISTINGS_PER_CATEGORY]
    for category, count in too_small.items():
        for _, row in listings[listings["category"] == category].iterrows():
            problems.append(
                RowProblem(int(row.name) + 1, row["uniq_id"], f"category {category!r} has only {count} listing(s); "
                           f"at least {MIN_LISTINGS_PER_CATEGORY} are needed, so it is left out")
            )
    listings = listings[~listings["category"].isin(too_small.index)].reset_index(drop=True)
    return Dataset(
        listings=listings,
        categories=sorted(listings["category"].unique()),
        problems=sorted(problems, key=lambda p: p.row),
        csv_path=csv_path,
        images_dir=images_dir,
        fingerprint=fingerprint(csv_path, listings),
        dropped_categories={str(k): int(v) for k, v in too_small.items()},
    )


def _validate_rows(raw: pd.DataFrame, images_dir: Path) -> tuple[list[dict], list[RowProblem]]:
    rows: list[dict] = []
    problems: list[RowProblem] = []
    first_seen: dict[str, int] = {}
    for index, record in enumerate(raw.to_dict("records"), start=1):
        uniq_id = record["uniq_id"].strip()
        if not uniq_id:
            problems.append(RowProblem(index, "", "no uniq_id; the row is left out"))
            continue
        if uniq_id in first_seen:
            problems.append(RowProblem(index, uniq_id, f"duplicate uniq_id (first on row {first_seen[uniq_id]}); "
                                                       "this row is left out"))
            continue
        first_seen[uniq_id] = index
        category = main_category(record["product_category_tree"])
        if category is None:
            tree = record["product_category_tree"][:60]
            problems.append(RowProblem(index, uniq_id,
                                       f"malformed product_category_tree {tree!r}; the row is left out"))
            continue
        image_path = image_sha = None
        try:
            path = resolve_image_path(images_dir, record["image"])
            if path.is_file():
                image_path, image_sha = str(path), file_sha(path)
        except UnsafeImageNameError as exc:
            problems.append(RowProblem(index, uniq_id, f"{exc}; the listing is kept without a photo"))
        rows.append({
            "uniq_id": uniq_id,
            "product_name": record["product_name"].strip(),
            "description": record["description"],
            "category": category,
            "image": record["image"],
            "image_path": image_path,
            "image_sha": image_sha,
            "specifications": specification_text(record.get("product_specifications", "")),
            "category_tree": record["product_category_tree"],  # the levels below the first: core.hierarchy
        })
    return rows, problems


def fingerprint(csv_path: Path, listings: pd.DataFrame) -> str:
    """A short hash of the CSV bytes and the photo files' contents: results are keyed by it."""
    digest = hashlib.sha256(csv_path.read_bytes())
    for uniq_id, image_sha in sorted(zip(listings["uniq_id"], listings["image_sha"].fillna(""))):
        digest.update(f"{uniq_id}:{image_sha}".encode())
    return digest.hexdigest()[:16]


def file_sha(path: Path) -> str:
    """The content hash of one file, as used by every cache."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:20]
