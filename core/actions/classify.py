"""The classify actions: a file of new listings classified for the command line (local engine or Ray), and a
batch uploaded in the app, its files kept in a folder of their own in the workspace's uploads while the page
shows the run, so that the output can be downloaded and the flagged listings sent to review. Both check
the input and the output before the classifier loads (or trains), pick the device the same way and
classify through the same steps, so the same file gets the same answers from either."""
from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.archive import extract_photos_zip
from core.calibration import Promise
from core.classify.batch_input import BatchFile, open_batch, readable
from core.classify.device import choose_device, describe_device
from core.classify.job import ClassifySummary
from core.classify.output import OutputTarget, output_target
from core.classify.ray_engine import RayInput, classify_on_ray, ray_missing_message
from core.classify.stored_classifier import StoredClassifier
from core.dataset import Dataset
from core.errors import BatchInputError, ScenarioUnavailableError, VitrineError
from core.progress import Progress, silent
from core.review.batch_history import BatchHistory, BatchRecord
from core.review.batches import SentBatch, send_to_review
from core.scenarios.registry import scenario_named
from core.workspace import Workspace

CSV_FILE = "listings.csv"  # the names kept when the uploaded ones have nothing usable as a file name
PHOTOS_FILE = "photos.zip"
OUTPUT_FILE = "classified.parquet"
KEEP_UPLOADS_SECONDS = 24 * 3600  # a run the page no longer shows is removed after a day
Announce = Callable[[str, str], None]  # hears where the classifier runs and its review cut-off, in words
log = logging.getLogger(__name__)


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
    record_id: int | None = None  # its record in the batch history
    unrecorded: str | None = None  # why the batch history could not record it

    @property
    def output(self) -> Path:
        return self.folder / OUTPUT_FILE

    @property
    def batch(self) -> BatchFile:
        """The uploaded listings with their photos, as the run read them."""
        return BatchFile(self.csv, self.folder, self.withheld)

    def send_to_review(self, workspace: Workspace) -> SentBatch:
        """The run's flagged listings sent to the operators' queue in ``workspace`` (read again from the upload),
        and the run's record in the batch history told where they went."""
        sent = send_to_review(workspace.batches, self.batch, self.output, self.scenario, name=self.name)
        if self.record_id is not None and sent.flagged:
            try:
                BatchHistory(workspace.review_url).attach_review(self.record_id, sent.batch_id, sent.table())
            except VitrineError as exc:  # the listings are in review all the same: the history only lacks the link
                log.warning("%s", exc)
        return sent

    def product_names(self) -> list[str]:
        """Each input row's product name, in input order (the output's rows are the input's)."""
        return [readable(name) for chunk in self.batch.chunks(photos=False) for name in chunk.names]

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def classify_upload(workspace: Workspace, name: str, listings: bytes, photos: tuple[str, bytes] | None,
                    scenario_name: str, dataset: Dataset, promise: Promise = Promise(),
                    progress: Progress = silent) -> UploadRun:
    """Classify an uploaded CSV (``listings``; ``photos``: an optional zip of the photos its rows name)
    with the scenario's classifier stored in ``workspace``, in a folder of its own in the workspace's
    uploads. A file that cannot be read raises a VitrineError saying why; its folder is removed then."""
    _remove_old_uploads(workspace.uploads)
    folder = workspace.uploads / uuid.uuid4().hex
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
        run = _classified(workspace, BatchFile(csv, folder, withheld), scenario_name, dataset,
                          OutputTarget(folder / OUTPUT_FILE), promise,
                          choose_device("auto", scenario_named(scenario_name, workspace)), progress=progress)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    record_id, unrecorded = _record(workspace, BatchRecord.of_run("app", name, scenario_name, run.summary, run.review))
    return UploadRun(folder, csv, name, scenario_name, run.summary, run.review, withheld, record_id, unrecorded)


@dataclass(frozen=True)
class BatchRun:
    """What classifying a file did: the summary, the review cut-off in words, where it ran, the listings
    sent to review (None when not asked), and why the batch history could not record it (None when it did)."""

    summary: ClassifySummary
    review: str
    device: str
    sent: SentBatch | None = None
    unrecorded: str | None = None


def classify_file(workspace: Workspace, source: Path, scenario_name: str, dataset: Dataset, out: str | None = None,
                  promise: Promise = Promise(), engine: str = "local", device: str = "auto",
                  explain: bool = False, to_review: bool = False, progress: Progress = silent,
                  loaded: Announce = lambda where, review: None) -> BatchRun:
    """Classify the batch at ``source`` (a CSV or Parquet file, a folder or zip with photos; with the Ray engine
    also a folder of Parquet files or a URL) into ``out`` (default ``INPUT.<scenario>.parquet`` beside it).
    Everything that can be checked (the device, the engine, the output, the input's columns) is checked
    before the classifier loads; ``loaded`` hears where it runs and its review cut-off in words before the
    listings are classified. The classifier is the one stored in ``workspace`` (trained and stored first when
    there is none); with ``to_review`` the flagged listings go to the operators' queue there."""
    scenario = scenario_named(scenario_name, workspace)
    device = choose_device(device, scenario)
    if engine == "ray" and (missing := ray_missing_message()):
        raise ScenarioUnavailableError(missing)
    target = output_target(source, out, scenario_name, engine)
    # A zip's photos are unpacked only for a scenario that reads them, or for the review page to show.
    photos = scenario.reads_photo or to_review
    with (RayInput.opened(source, photos) if engine == "ray" else open_batch(source, photos)) as opened:
        batch = opened.batch if engine == "ray" else opened
        if batch is None and to_review:
            raise BatchInputError("--to-review needs the batch on this machine (a file, folder or zip), where the "
                                  "review page can read its listings again; not a URL.")
        run = _classified(workspace, batch, scenario_name, dataset, target, promise, device, explain, progress,
                          loaded, ray_input=opened if engine == "ray" else None)
        if to_review:
            run = replace(run, sent=send_to_review(workspace.batches, batch, target.path, scenario_name,
                                                   name=source.name))
    record = BatchRecord.of_run("cli", source.name or str(source), scenario_name, run.summary, run.review)
    return replace(run, unrecorded=_record(workspace, record, run.sent)[1])


def _classified(workspace: Workspace, batch: BatchFile | None, scenario_name: str, dataset: Dataset,
                target: OutputTarget, promise: Promise, device: str, explain: bool = False,
                progress: Progress = silent, loaded: Announce = lambda where, review: None,
                ray_input: RayInput | None = None) -> BatchRun:
    """The steps every classify action shares on the ``device`` chosen: the input checked (a file that cannot be
    read is said before the classifier loads, or trains), the classifier stored in ``workspace`` loaded, the
    batch classified (on Ray when ``ray_input`` is given)."""
    if batch is not None:
        batch.check()
    classifier = StoredClassifier.load(scenario_named(scenario_name, workspace), dataset, promise,
                                       workspace.results_store(), progress)
    where = describe_device(device, classifier.scenario)
    loaded(where, classifier.review)
    if ray_input is not None:
        summary = classify_on_ray(ray_input, scenario_name, dataset.fingerprint, classifier.threshold, target.path,
                                  workspace, shards=target.shards, explain=explain, device=device,
                                  reference=classifier.reference, review_unlike=promise.review_unlike)
    else:
        summary = classifier.classify(batch, target.path, explain=explain, device=device, progress=progress)
    return BatchRun(summary, classifier.review, where)


def _record(workspace: Workspace, record: BatchRecord, sent: SentBatch | None = None) -> tuple[int | None, str | None]:
    """The batch's record kept in the workspace's batch history, with the review batch its flagged listings went
    to: its id, or None and why it could not be written (which costs the record, never the classified batch)."""
    try:
        history = BatchHistory(workspace.review_url)
        record_id = history.record(record)
        if sent is not None and sent.flagged:
            history.attach_review(record_id, sent.batch_id, sent.table())
    except VitrineError as exc:
        return None, str(exc)
    return record_id, None


def safe_file_name(name: str, suffix: str = ".csv", fallback: str = CSV_FILE) -> str:
    """The uploaded name as a plain file name ending in ``suffix``, as the user wrote it (messages name the
    file): only what no file name may hold on any common system (folders, control characters,
    ``<>:"|?*``) is replaced."""
    cleaned = re.sub(r'[\x00-\x1f<>:"|?*]', "_", name.replace("\\", "/").rsplit("/", 1)[-1])[:100].strip(" .")
    if not cleaned or cleaned.startswith(".") or cleaned == OUTPUT_FILE:
        return fallback
    return cleaned if cleaned.lower().endswith(suffix) else f"{cleaned}{suffix}"


def _remove_old_uploads(root: Path) -> None:
    """Upload folders (in ``root``) of runs no page shows any more (a closed browser tab leaves its folder)."""
    for folder in root.iterdir() if root.is_dir() else []:
        if time.time() - folder.stat().st_mtime > KEEP_UPLOADS_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)
