"""The data-quality report: what the listings look like before any model sees them."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from core.clip_tokenizer import CONTEXT_LENGTH, token_counts
from core.dataset import Dataset, RowProblem
from core.hierarchy import MAX_LEVEL, MIN_LISTINGS_AT_LEVEL, SEPARATOR, LevelCategories, at_level
from core.text import model_a_text, model_b_text


@dataclass
class DataReport:
    """Per-category counts and text lengths, missing photos and row problems."""

    per_category: pd.DataFrame  # one row per category
    missing_images: list[str]
    problems: list[RowProblem]
    total: int
    levels: list[LevelCategories] = field(default_factory=list)  # the tree's levels below the first

    def merges(self) -> pd.DataFrame:
        """What the merge rule did at each level below the first: one row per merged ``other`` category (the
        sub-categories in it), per category left out as too small, and per parent not split."""
        rows = []
        for found in self.levels:  # what each level adds: a level's categories above it are the level above's
            new = found.level - 1  # separators in a path of this level
            rows += [{"level": found.level, "category": path, "listings": sum(parts.values()),
                      "what": f"merged: {_largest(parts)}"}
                     for path, parts in found.merged.items() if path.count(SEPARATOR) == new]
            rows += [{"level": found.level, "category": path, "listings": n, "what": "left out: fewer than "
                      f"{MIN_LISTINGS_AT_LEVEL} listings"} for path, n in found.left_out.items()
                     if path.count(SEPARATOR) == new]
            rows += [{"level": found.level, "category": path, "listings": found.paths.count(path),
                      "what": "not split: no sub-category has enough listings"} for path in found.unsplit
                     if path.count(SEPARATOR) == new - 1]
        return pd.DataFrame(rows, columns=["level", "category", "listings", "what"])

    def level_counts(self) -> list[str]:
        """Per level below the first, its categories and the listings it leaves out, in words; those left out
        at a level above count again (a listing left out at level 2 has no level 3), so they are said apart."""
        said, above = [], 0
        for found in self.levels:
            left = sum(path is None for path in found.paths)
            earlier = f" ({above} of them at the level above)" if above else ""
            said.append(f"level {found.level}: {len({p for p in found.paths if p is not None})} categories, "
                        f"{left} listing(s) left out{earlier}")
            above = left
        return said

    def to_text(self) -> str:
        """The report as plain text for the terminal."""
        lines = [f"{self.total} listings in {len(self.per_category)} categories", ""]
        lines.append(self.per_category.to_string(float_format=lambda v: f"{v:.2f}"))
        lines.append("")
        colon = ":" if self.missing_images else ""
        lines.append(f"{len(self.missing_images)} listing(s) without a photo file{colon}")
        lines += [f"  - {name}" for name in self.missing_images]
        lines.append(f"{len(self.problems)} row problem(s)")
        lines += [f"  - row {p.row} ({p.uniq_id or 'no id'}): {p.problem}" for p in self.problems]
        for found, counts in zip(self.levels, self.level_counts()):
            lines += ["", f"{counts}; a sub-category with fewer than {MIN_LISTINGS_AT_LEVEL} listings is merged into "
                      "'other <parent>' (below: what this level merged, left out or did not split)"]
            lines += [f"  - {row.category} ({row.listings}): {row.what}"
                      for row in self.merges().query(f"level == {found.level}").itertuples()]
        return "\n".join(lines)


def _largest(parts: dict[str, int], shown: int = 8) -> str:
    """The largest merged sub-categories with their listings, and how many more there are."""
    ranked = sorted(parts.items(), key=lambda kv: -kv[1])
    more = f" and {len(ranked) - shown} more" if len(ranked) > shown else ""
    return ", ".join(f"{name} ({n})" for name, n in ranked[:shown]) + more


def data_report(dataset: Dataset) -> DataReport:
    """Counts per category, missing photos, description length in words and in CLIP tokens
    (model A and model B text) per category, and the share of descriptions CLIP cuts at 77 tokens."""
    listings = dataset.listings
    descriptions = listings["description"].tolist()

    stats = pd.DataFrame({
        "category": listings["category"],
        "words": [len(d.split()) for d in descriptions],
        "tokens_a": token_counts([model_a_text(d) for d in descriptions]),
        "tokens_b": token_counts([model_b_text(d) for d in descriptions]),
        "missing_image": listings["image_path"].isna(),
    })
    stats["cut_a"] = stats["tokens_a"] > CONTEXT_LENGTH
    stats["cut_b"] = stats["tokens_b"] > CONTEXT_LENGTH
    per_category = stats.groupby("category").agg(
        listings=("words", "size"),
        missing_images=("missing_image", "sum"),
        words_mean=("words", "mean"),
        words_max=("words", "max"),
        tokens_a_mean=("tokens_a", "mean"),
        tokens_b_mean=("tokens_b", "mean"),
        share_over_77_a=("cut_a", "mean"),
        share_over_77_b=("cut_b", "mean"),
    )
    return DataReport(
        per_category=per_category,
        missing_images=dataset.missing_images["image"].tolist(),
        problems=dataset.problems,
        total=len(listings),
        levels=_levels(listings),
    )


def _levels(listings: pd.DataFrame) -> list[LevelCategories]:
    """The levels below the first that split any category (none for a data set without deeper levels)."""
    found = [at_level(listings, level)[1] for level in range(2, MAX_LEVEL + 1)] if len(listings) else []
    return [level for level in found if any(p is not None and SEPARATOR in p for p in level.paths)]
