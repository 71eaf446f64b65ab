"""Data versions: the operators' label corrections applied over the original listings, never an edit.

A version is a folder ``<name>/`` in the versions folder (the workspace's ``versions``) holding
``corrections.csv`` (one row per corrected listing: uniq_id, old and new label, the operators, when they
answered, when it was applied) and ``version.json`` (the original data's fingerprint and CSV, the rule,
when). Loading it gives the original listings with those labels changed and a fingerprint of its own (the
original's and the corrections'), so every scenario runs on it and the results store keeps both versions
apart.

The split stays the original's: the listings keep their original label in ``original_category``, which
the train/test split is stratified on, so the same listings are tested on every version and a
corrected test label never trains a model.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core.dataset import ORIGINAL_VERSION, Dataset
from core.errors import DamagedVersionError, DatasetError
from core.exports import read_csv, write_csv
from core.hierarchy import cut_path
from core.review.batches import is_batch_key

VERSION_ENV = "VITRINE_DATA_VERSION"
CORRECTIONS_FILE = "corrections.csv"
MANIFEST_FILE = "version.json"
CORRECTION_COLUMNS = ["uniq_id", "old_label", "new_label", "operators", "answered_at", "applied_at"]
CORRECTION_RULE = ("a listing's label is corrected when every operator who answered it (their latest answer) "
                   "chose the same category, none of them was in doubt, at least {min_operators} operator(s) "
                   "answered, and that category differs from the data set's label")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
# What applying a version reads from its files: a version without them cannot be used.
MANIFEST_KEYS = ("original_fingerprint",)
NEEDED_COLUMNS = ["uniq_id", "old_label", "new_label"]


def correction_rule(min_operators: int = 1) -> str:
    """The rule that turns answers into corrections, in words."""
    return CORRECTION_RULE.format(min_operators=min_operators)


def corrections_from_answers(answers: pd.DataFrame, dataset: Dataset, min_operators: int = 1) -> pd.DataFrame:
    """The corrections the answers in force support under ``correction_rule`` (reference listings
    only: a batch's listings have no data set label to correct); an answer given as a path corrects its
    first level, the data set's label."""
    known = answers["uniq_id"].isin(set(dataset.listings["uniq_id"]))
    reference = answers[known & ~answers["uniq_id"].map(is_batch_key)]
    latest = reference.sort_values("id").groupby(["operator", "uniq_id"], as_index=False).last()
    given = dataset.listings.set_index("uniq_id")["category"]
    rows = []
    for uniq_id, answered in latest.groupby("uniq_id"):
        # An answer given as a path (a queue below the first level) corrects the first level it names.
        labels = {cut_path(label, 1) for label in answered["label"]}
        if len(labels) != 1 or answered["in_doubt"].any() or len(answered) < min_operators:
            continue
        new_label, old_label = labels.pop(), given[uniq_id]
        if new_label != old_label:
            rows.append({"uniq_id": uniq_id, "old_label": old_label, "new_label": new_label,
                         "operators": ", ".join(sorted(answered["operator"])),
                         "answered_at": _utc(answered["created_at"].max()).isoformat(timespec="seconds")})
    corrections = pd.DataFrame(rows, columns=CORRECTION_COLUMNS[:-1])
    _check_new_labels(corrections, dataset.categories, "The operators' answer",
                      "answer it again with one of them on the review page")
    return corrections


def _check_new_labels(corrections: pd.DataFrame, categories: list[str], source: str, remedy: str) -> None:
    """A DatasetError naming the first correction whose new label is not one of ``categories``: such a label
    would make a category of a listing or two, too few to train on, split or cross-validate."""
    unknown = corrections[~corrections["new_label"].isin(categories)]
    if not unknown.empty:
        first = unknown.iloc[0]
        raise DatasetError(f"{source} gives the listing {first['uniq_id']} the label {first['new_label']!r}, which is "
                           f"not one of the data set's categories ({', '.join(categories)}); {remedy}.")


def _utc(moment) -> pd.Timestamp:
    """A stored answer time in UTC (SQLite gives it back without its time zone)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def version_names(folder: Path) -> list[str]:
    """The corrected versions written so far in the versions folder ``folder`` that can be used, oldest first:
    a damaged one (a file missing or unreadable) is left out, so that no list offers it; asked for by name,
    it says what is wrong."""
    # The name rule also leaves out the hidden folders that write_version stages its files in.
    found = [p for p in folder.iterdir() if _NAME.match(p.name) and _usable(p)] if folder.is_dir() else []
    return [p.name for p in sorted(found, key=lambda p: (p / MANIFEST_FILE).stat().st_mtime)]


def _usable(folder: Path) -> bool:
    """Whether a version's files are all there and readable."""
    try:
        _read_files(folder)
    except DamagedVersionError:
        return False
    return True


def _read_files(folder: Path) -> tuple[dict, pd.DataFrame]:
    """A version's manifest and corrections; DamagedVersionError saying what is wrong when one cannot be used."""
    return _read_manifest(folder / MANIFEST_FILE), _read_corrections_file(folder / CORRECTIONS_FILE)


def _read_manifest(path: Path) -> dict:
    """A version's ``version.json``, holding at least ``MANIFEST_KEYS``."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DamagedVersionError(f"its {path.name} is missing") from None
    except json.JSONDecodeError as exc:
        raise DamagedVersionError(f"its {path.name} is not valid JSON ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DamagedVersionError(f"its {path.name} cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    missing = [key for key in MANIFEST_KEYS if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise DamagedVersionError(f"its {path.name} lacks {', '.join(missing)}")
    return manifest


def _read_corrections_file(path: Path) -> pd.DataFrame:
    """A version's ``corrections.csv``, with ``NEEDED_COLUMNS`` and at least one row."""
    if not path.is_file():
        raise DamagedVersionError(f"its {path.name} is missing")
    try:
        table = read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DamagedVersionError(f"its {path.name} is empty") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
        raise DamagedVersionError(f"its {path.name} cannot be read ({reason})") from None
    if missing := [column for column in NEEDED_COLUMNS if column not in table.columns]:
        raise DamagedVersionError(f"its {path.name} lacks the column(s) {', '.join(missing)}")
    if table.empty:
        raise DamagedVersionError(f"its {path.name} holds no correction")
    return table


def write_version(folder: Path, dataset: Dataset, corrections: pd.DataFrame, name: str | None = None,
                  min_operators: int = 1) -> Path:
    """Write ``corrections`` of the original ``dataset`` as a new version in the versions folder ``folder``
    (atomically); the version's folder."""
    if dataset.version != ORIGINAL_VERSION:
        raise DatasetError(f"Corrections apply to the original data set, not to the version {dataset.version}.")
    if corrections.empty:
        raise DatasetError("No answer meets the rule for a correction (" + correction_rule(min_operators) + ").")
    _check_new_labels(corrections, dataset.categories, "A correction", "nothing was written")
    same = _same_corrections(folder, corrections)
    if same is not None:
        raise DatasetError(f"These {len(corrections)} correction(s) are the data version {same} already: there is "
                           "nothing new to apply.")
    now = datetime.now(timezone.utc)
    name = f"corrected-{now:%Y%m%d-%H%M%S}" if name is None else name
    if not _NAME.match(name) or name == ORIGINAL_VERSION:
        raise DatasetError(f"A version name is 1-60 letters, digits, '.', '_' or '-' (and not {ORIGINAL_VERSION!r}); "
                           f"got {name!r}.")
    destination = folder / name
    if destination.exists():
        raise DatasetError(f"A version named {name} exists already; choose another name.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    # A plain mkdir, whose mode follows the umask as every other output's does (mkdtemp's is 0700: the
    # rest of a team could not read the version); the random part keeps two writers' staging apart.
    staging = destination.parent / f".{name}.{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        table = corrections.assign(applied_at=now.isoformat(timespec="seconds"))[CORRECTION_COLUMNS]
        write_csv(table, staging / CORRECTIONS_FILE)  # people open it in a spreadsheet
        manifest = {"name": name, "created_at": now.isoformat(timespec="seconds"), "corrections": len(table),
                    "rule": correction_rule(min_operators), "original_fingerprint": dataset.fingerprint,
                    "original_csv": str(dataset.csv_path)}
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def _same_corrections(folder: Path, corrections: pd.DataFrame) -> str | None:
    """The existing version holding exactly these corrections (same listings, same new labels), if any."""
    wanted = set(zip(corrections["uniq_id"], corrections["new_label"]))
    for name in version_names(folder):
        existing = read_corrections(folder, name)
        if set(zip(existing["uniq_id"], existing["new_label"])) == wanted:
            return name
    return None


def read_corrections(folder: Path, name: str) -> pd.DataFrame:
    """The corrections table of version ``name`` in the versions folder ``folder``."""
    return _read_version(folder, name)[1]


def _read_version(folder: Path, name: str) -> tuple[dict, pd.DataFrame]:
    """Version ``name``'s manifest and corrections (in the versions folder ``folder``); a DatasetError, listing
    the usable versions, when there is no such version or it is damaged."""
    usable = ", ".join([ORIGINAL_VERSION, *version_names(folder)])
    # The name rule keeps a path ('/elsewhere', '../x') from loading corrections from outside the versions folder.
    if not _NAME.match(name) or not (folder / name).is_dir():
        raise DatasetError(f"There is no data version named {name!r} (a version is named by its folder in "
                           f"{folder}, not by a path); the versions are: {usable}.")
    try:
        return _read_files(folder / name)
    except DamagedVersionError as exc:
        raise DatasetError(f"The data version {name} is damaged: {exc}. It cannot be used; the usable versions "
                           f"are: {usable}.") from None


def apply_version(folder: Path, original: Dataset, name: str) -> Dataset:
    """The original data set with the corrections of version ``name`` (in the versions folder ``folder``)
    applied."""
    if name == ORIGINAL_VERSION:
        return original
    manifest, corrections = _read_version(folder, name)
    if manifest["original_fingerprint"] != original.fingerprint:
        raise DatasetError(f"The data version {name} corrects another copy of the listings than the one loaded "
                           "(its fingerprint differs): the listings or photos changed since it was written.")
    _check_new_labels(corrections, original.categories, f"The data version {name}",
                      "it cannot be used: write a new version with `python -m core labels apply`")
    listings = original.listings.copy()
    listings["original_category"] = listings["category"]
    new_labels = corrections.set_index("uniq_id")["new_label"]
    corrected = listings["uniq_id"].isin(new_labels.index)
    listings.loc[corrected, "category"] = listings.loc[corrected, "uniq_id"].map(new_labels)
    digest = hashlib.sha256(original.fingerprint.encode())
    digest.update((folder / name / CORRECTIONS_FILE).read_bytes())
    return replace(original, listings=listings, fingerprint=digest.hexdigest()[:16], version=name)


def selected_version() -> str:
    """The version chosen for this process: ``$VITRINE_DATA_VERSION``, else the original."""
    return os.environ.get(VERSION_ENV) or ORIGINAL_VERSION
