"""Where Vitrine finds its data (what it makes is kept in the workspace, ``core.workspace``).

The data folder can be moved with an environment variable, so tests and deployments can point the
product elsewhere without touching code.
"""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import DataNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent

DATA_DIR_ENV = "VITRINE_DATA_DIR"

CSV_NAME = "flipkart_com-ecommerce_sample_1050.csv"
IMAGES_DIR_NAME = "images"
# A small part of the reference data, in the repository, so a fresh clone has listings to show.
SAMPLE_DATA_DIR = REPO_ROOT / "assets" / "sample"
SAMPLE_NOTICE = (
    "This is the small sample shipped with Vitrine (20 listings per category, photos at 256 px), not the full "
    "data set of 1050 listings, so the scores say little. Get the full set with `python -m core data download` "
    "(needs internet), or download its zip elsewhere and run `python -m core data import PATH`."
)


def data_dir_candidates() -> list[tuple[str, Path]]:
    """The places searched for the dataset, in order, each with how it was chosen."""
    candidates: list[tuple[str, Path]] = []
    if os.environ.get(DATA_DIR_ENV):
        candidates.append((f"${DATA_DIR_ENV}", Path(os.environ[DATA_DIR_ENV]).expanduser()))
    candidates.append(("the project's data folder", REPO_ROOT / "data" / "flipkart"))
    candidates.append(("the shared reference copy", REPO_ROOT.parent / "shared" / "data" / "flipkart"))
    candidates.append(("the sample shipped with Vitrine", SAMPLE_DATA_DIR))
    return candidates


def is_sample_dir(folder: Path) -> bool:
    """Whether ``folder`` is the sample shipped in the repository rather than a full dataset."""
    return folder.resolve() == SAMPLE_DATA_DIR.resolve()


def find_csv(folder: Path) -> Path | None:
    """The listings CSV in ``folder``: the reference file name, else the only CSV there."""
    if not folder.is_dir():
        return None
    named = folder / CSV_NAME
    if named.is_file():
        return named
    csvs = sorted(p for p in folder.glob("*.csv") if p.is_file())
    return csvs[0] if len(csvs) == 1 else None


def find_images_dir(folder: Path) -> Path:
    """The images folder beside the CSV: ``images/`` (ours) or ``Images/`` (the original layout)."""
    for name in (IMAGES_DIR_NAME, "Images"):
        if (folder / name).is_dir():
            return folder / name
    return folder / IMAGES_DIR_NAME


def data_dir() -> Path:
    """The first candidate folder that holds a listings CSV.

    When ``$VITRINE_DATA_DIR`` is set it is the only place looked at, so a typo is not hidden by a
    fallback. Raises DataNotFoundError with instructions when nothing is found.
    """
    candidates = data_dir_candidates()
    if os.environ.get(DATA_DIR_ENV):
        candidates = candidates[:1]
    for _, folder in candidates:
        if find_csv(folder) is not None:
            return folder
    raise DataNotFoundError(missing_data_message(candidates))


def missing_data_message(candidates: list[tuple[str, Path]]) -> str:
    """What the user must do when no dataset is found, naming every place looked at."""
    looked = "\n".join(f"  - {path}  ({why})" for why, path in candidates)
    return (
        "No product listings were found. Looked in:\n"
        f"{looked}\n"
        "Put the listings CSV and a folder of photos named after the CSV's `image` column like this:\n"
        f"  data/flipkart/{CSV_NAME}\n"
        f"  data/flipkart/{IMAGES_DIR_NAME}/<uniq_id>.jpg\n"
        "or import a folder or zip in the original layout (CSV + Images/) with:\n"
        "  python -m core data import PATH\n"
        "or download the study's data set and import it with:\n"
        "  python -m core data download\n"
        f"or set {DATA_DIR_ENV} to a folder laid out that way."
    )


def project_data_dir() -> Path:
    """Where ``data import`` puts a dataset: the project's own, git-ignored data folder."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return REPO_ROOT / "data" / "flipkart"

