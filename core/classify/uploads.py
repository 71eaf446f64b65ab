"""A batch uploaded in the app: its files kept in a folder of their own under the work folder while
the page shows the run, so that the output can be downloaded and the flagged listings sent to review."""
from __future__ import annotations

import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from core.archive import extract_photos_zip
from core.classify.batch_input import BatchFile, readable
from core.classify.device import choose_device
from core.classify.job import ClassifySummary
from core.classify.stored import StoredClassifier
from core.dataset import Dataset
from core.locations import work_dirs
from core.progress import Progress, silent
from core.review.batches import SentBatch, send_to_review

CSV_FILE = "listings.csv"  # the names kept when the uploaded ones have nothing usable as a file name
PHOTOS_FILE = "photos.zip"
OUTPUT_FILE = "classified.parquet"
KEEP_UPLOADS_SECONDS = 24 * 3600  # a run the page no longer shows is removed after a day


@dataclass(frozen=True)
class UploadRun:
    """One classified upload: where its files are and what the run did."""

    folder: Path
    csv: Path  # the uploaded CSV, inside ``folder``
    name: str  # the uploaded file's name, as the user knows it
    scenario: str
    summary: ClassifySummary
    review: str  # the review cut-off in words
    # Photos the uploaded zip held but that could not be unpacked, each with why (``BatchFile.withheld``).
    withheld: dict[Path, str] = field(default_factory=dict)

    @property
    def output(self) -> Path:
        return self.folder / OUTPUT_FILE

    @property
    def batch(self) -> BatchFile:
        """The uploaded listings with their photos, as the run read them."""
        return BatchFile(self.csv, self.folder, self.withheld)

    def send_to_review(self) -> SentBatch:
        """The run's flagged listings sent to the operators' queue (read again from the upload)."""
        return send_to_review(self.batch, self.output, self.scenario, name=self.name)

    def product_names(self) -> list[str]:
        """Each input row's product name, in input order (the output's rows are the input's)."""
        return [readable(name) for chunk in self.batch.chunks(photos=False) for name in chunk.names]

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def uploads_dir() -> Path:
    return work_dirs().root / "uploads"


def classify_upload(name: str, listings: bytes, photos: tuple[str, bytes] | None, scenario_name: str, dataset: Dataset,
                    precision: float, progress: Progress = silent) -> UploadRun:
    """Classify an uploaded CSV (``listings``; ``photos``: an optional zip of the photos its rows name)
    with the scenario's stored classifier. A file that cannot be read raises a VitrineError saying why;
    its folder is removed then."""
    _remove_old_uploads()
    folder = uploads_dir() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    withheld: dict[Path, str] = {}
    try:
        csv = folder / safe_file_name(name)
        csv.write_bytes(listings)
        if photos is not None:
            # Under the uploaded name (in a folder of its own), so that what is said of the zip names the user's.
            zipped = folder / ".zip" / safe_file_name(photos[0], ".zip", PHOTOS_FILE)
            zipped.parent.mkdir()
            zipped.write_bytes(photos[1])
            withheld = extract_photos_zip(zipped, folder)
            shutil.rmtree(zipped.parent)
        batch = BatchFile(csv, folder, withheld)
        batch.check()  # a file that cannot be read is said before the classifier loads (or trains)
        classifier = StoredClassifier.load(scenario_name, dataset, precision, progress)
        device = choose_device("auto", classifier.scenario)
        summary = classifier.classify(batch, folder / OUTPUT_FILE, device=device, progress=progress)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return UploadRun(folder, csv, name, scenario_name, summary, classifier.review, withheld)


def safe_file_name(name: str, suffix: str = ".csv", fallback: str = CSV_FILE) -> str:
    """The uploaded name as a plain file name ending in ``suffix``, as the user wrote it (messages name the
    file): only what no file name may hold on any common system (folders, control characters,
    ``<>:"|?*``) is replaced."""
    cleaned = re.sub(r'[\x00-\x1f<>:"|?*]', "_", name.replace("\\", "/").rsplit("/", 1)[-1])[:100].strip(" .")
    if not cleaned or cleaned.startswith(".") or cleaned == OUTPUT_FILE:
        return fallback
    return cleaned if cleaned.lower().endswith(suffix) else f"{cleaned}{suffix}"


def _remove_old_uploads() -> None:
    """Upload folders of runs no page shows any more (a closed browser tab leaves its folder)."""
    root = uploads_dir()
    for folder in root.iterdir() if root.is_dir() else []:
        if time.time() - folder.stat().st_mtime > KEEP_UPLOADS_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)
