"""The classify job on Ray Data: the same core functions, from one laptop to a cluster.

read (CSV or Parquet, Ray's readers) -> decode photos (a task stage, CPU; only for scenarios that read
photos) -> embed and predict (an actor pool: each actor builds the scenario's model once and loads the
stored classifier from the results store) -> one output file written by the driver in input order, or
Parquet shards written by the workers.

With ``$RAY_ADDRESS`` set (Ray's own convention) the job goes to that cluster; otherwise a local Ray
starts with this machine's cores. Ray is an optional dependency (``requirements-scale.txt``): only
this module imports it, and only when ``--engine ray`` is asked for.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import logging
import os
import shutil
import socket
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from PIL import Image

from core.batch_check import BatchReference, check_batch
from core.calibration import ReviewThreshold
from core.classify.batch_input import CHUNK_ROWS, BatchFile, Columns, decoded_text, open_batch
from core.classify.job import (
    PHOTO_CHUNK_ROWS,
    ClassifySummary,
    RepeatedIds,
    classify_chunk,
    output_counts,
    write_output,
)
from core.classify.photo_decoding import decode_photo
from core.errors import BatchInputError, ScenarioUnavailableError
from core.locations import find_csv
from core.scenarios.registry import scenario_named
from core.workspace import Workspace

INSTALL_HINT = "pip install -r requirements-scale.txt"
# Each worker that dies is started again this many times, and each failed batch retried as often.
RETRIES = 3
PHOTO_BATCH_ROWS = 64  # photos decoded per task
CONNECT_SECONDS = 10.0  # a cluster address that answers nothing in this time is said to be unreachable
_PHOTO, _PHOTO_NOTE = "__photo", "__photo_note"
# What every worker needs of the driver's environment beyond the workspace, which it is handed: the same CLIP
# checkpoint and data.
_SHARED_ENV = ("VITRINE_CLIP_MODEL", "VITRINE_DATA_DIR")


def ray_missing_message() -> str | None:
    """Why ``--engine ray`` cannot run here (Ray is not installed), with the fix; None when it can."""
    if importlib.util.find_spec("ray") is None:
        return f"The Ray engine needs Ray, which is not installed: `{INSTALL_HINT}` (or pick --engine local)."
    return None


@dataclass(frozen=True)
class RayInput:
    """What Ray reads: a CSV or Parquet file, a folder of Parquet files, or any path Ray's readers take,
    and the folder a photo column's paths are relative to; for a batch on this machine, the batch as the
    local engine reads it (photos a zip left packed included)."""

    paths: str
    parquet: bool
    folder: Path
    batch: BatchFile | None = None

    @classmethod
    @contextmanager
    def opened(cls, source: str | Path, photos: bool = True) -> Iterator[RayInput]:
        """The input at ``source``: every batch the local engine takes (a CSV or Parquet file, a folder or
        zip of listings and photos; a zip unpacked for the run), a folder of Parquet files, or a URL for
        Ray's readers. A batch on this machine is opened as the local engine opens it (and checked with it,
        before any model loads)."""
        text = str(source)
        local = Path(text)
        if "://" in text:
            yield cls(text, text.lower().endswith(".parquet"), local.parent)
        elif local.is_dir() and find_csv(local) is None and any(local.glob("*.parquet")):
            yield cls(text, True, local)
        else:
            with open_batch(local, photos) as batch:
                yield cls(str(batch.path), batch.path.suffix.lower() == ".parquet", batch.folder, batch)


def classify_on_ray(batch: RayInput, scenario_name: str, data_fingerprint: str, threshold: ReviewThreshold,
                    output: Path, workspace: Workspace, shards: bool = False, explain: bool = False,
                    device: str = "cpu", reference: BatchReference | None = None,
                    review_unlike: bool = False) -> ClassifySummary:
    """Classify every row of ``batch`` on Ray Data into ``output`` with the scenario's classifier stored for
    ``data_fingerprint`` in ``workspace`` (handed to every worker, which loads the classifier from its results
    store and the model from its models folder): one Parquet (or CSV) file in input order, or with ``shards``
    Parquet shards written by the workers into the folder ``output``. With a ``reference`` the batch is
    checked against the calibration data as the local engine does; shards, which the workers write, are
    checked on their confidences alone and never rewritten."""
    if shards and review_unlike:
        raise BatchInputError("Sending an unlike batch to review whole rewrites its output, which Parquet shards "
                              "written by the workers are not: write one file, or leave that option out.")
    import ray
    from ray.util.annotations import RayDeprecationWarning

    started = time.perf_counter()
    scenario = scenario_named(scenario_name, workspace)
    # Each stage's workers get the driver's Vitrine settings, also on a Ray started before this job.
    runtime_env = {"env_vars": {name: os.environ[name] for name in _SHARED_ENV if name in os.environ}}
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS") or None
        check_reachable(address)
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    start_seconds = time.perf_counter() - started
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # the output lines up with the input
    _ray_data_console_warnings_only()
    gpus = 1 if device != "cpu" and scenario.uses_gpu and ray.cluster_resources().get("GPU", 0) >= 1 else 0
    dataset = _read(ray, batch)
    cpus = ray.cluster_resources().get("CPU", 1)
    with warnings.catch_warnings():
        # Ray 2.60 (pinned) has no named parameter for bounded retries yet; its deprecation notice is not
        # the user's business.
        warnings.simplefilter("ignore", RayDeprecationWarning)
        if scenario.reads_photo:
            photo_args = {"folder": batch.folder, "withheld": _withheld(batch)}
            dataset = dataset.map_batches(_decode_photos, fn_kwargs=photo_args,
                                          batch_size=PHOTO_BATCH_ROWS, batch_format="pandas", max_retries=RETRIES,
                                          runtime_env=runtime_env)
        # Batches of the local engine's chunk size, from the first row: each batch is one of its chunks, so the
        # model sees the same groups of listings and gives the same numbers. One actor per CPU, but one CPU
        # left to the reading and photo decoding tasks when there are photos: with every CPU held by an actor,
        # a 2-CPU Ray waited for them forever. On a one-CPU Ray the single actor reserves none, for the same
        # reason.
        actors = max(1, int(cpus) - 1 if scenario.reads_photo else int(cpus))
        classified = dataset.map_batches(
            _Classify, fn_constructor_kwargs=dict(scenario_name=scenario_name, data_fingerprint=data_fingerprint,
                                                  threshold=threshold, explain=explain, folder=batch.folder,
                                                  withheld=_withheld(batch), device="cuda" if gpus else "cpu",
                                                  workspace=workspace,
                                                  vocabulary=None if shards or reference is None
                                                  else reference.vocabulary),
            batch_size=PHOTO_CHUNK_ROWS if scenario.reads_photo else CHUNK_ROWS, batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
            num_cpus=1 if cpus >= 2 else 0, num_gpus=gpus, max_restarts=RETRIES, max_task_retries=RETRIES,
            runtime_env=runtime_env)
    if shards:
        counts = _write_shards(classified, output, reference)
    else:  # the driver streams the workers' batches into one file, in input order, one batch at a time
        counts = write_output(classified.iter_batches(batch_format="pandas", batch_size=None), output, explain,
                              reference=reference, review_unlike=review_unlike)
    unread = batch.batch.columns.photo if batch.batch and batch.batch.columns and not scenario.reads_photo else None
    return ClassifySummary(seconds=time.perf_counter() - started, output=output, engine_start_seconds=start_seconds,
                           unread_photos=unread, **counts)


def _withheld(batch: RayInput) -> dict[Path, str]:
    return batch.batch.withheld if batch.batch else {}


def check_reachable(address: str | None) -> None:
    """A cluster address (``$RAY_ADDRESS``) that answers nothing is said within ``CONNECT_SECONDS``, naming it:
    Ray itself waits for it forever with warnings only. None and ``auto`` (a Ray on this machine) are left
    to Ray."""
    if not address or address == "auto" or address.startswith("local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise BatchInputError(f"$RAY_ADDRESS is {address!r}, which is not a Ray address (host:port, or "
                              "ray://host:port for Ray Client).")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        what = "refused the connection" if isinstance(exc, ConnectionRefusedError) else \
            f"did not answer within {CONNECT_SECONDS:g} s ({exc.strerror or exc})"
        raise BatchInputError(f"The Ray cluster at {address} ($RAY_ADDRESS) {what}; check the address, or unset "
                              "RAY_ADDRESS to run on a Ray on this machine.") from exc


def _ray_data_console_warnings_only() -> None:
    """Ray Data logs every run's plan, and its progress where stdout is no terminal, to the console at
    INFO; the job's summary says what matters, so the console keeps Ray Data's warnings and errors (and
    its progress bars on a terminal, which are no log lines). Its log files keep everything, and a user
    who configured Ray Data's logging ($RAY_DATA_LOG_LEVEL, $RAY_DATA_LOGGING_CONFIG) keeps their choice."""
    if os.environ.get("RAY_DATA_LOG_LEVEL") or os.environ.get("RAY_DATA_LOGGING_CONFIG"):
        return
    for handler in logging.getLogger("ray.data").handlers:
        if handler.get_name() == "console":
            handler.setLevel(max(handler.level, logging.WARNING))


def _write_shards(classified, output: Path, reference: BatchReference | None = None) -> dict:
    """The workers write Parquet shards into a new folder beside ``output``, which takes its place once
    they are all written: a failed run leaves nothing, and no file the job did not write is read or
    replaced. ``output`` must be new or empty."""
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise BatchInputError(f"{output} is not a new or empty folder: Parquet shards go into a folder of their own.")
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".partial"))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes the folder private; the output is shared as usual
        classified.write_parquet(str(staging))
        written = pd.read_parquet(staging, columns=["id", "status", "needs_review", "confidence"])
        repeats = RepeatedIds()
        repeats.add(written["id"], None)  # the shards' order is the workers', not the input's
        counts = output_counts(written) | repeats.counts()
        if reference is not None:
            counts["check"] = check_batch(reference, written["confidence"].to_numpy(dtype=float))
        os.replace(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _read(ray, batch: RayInput):
    """Ray's reader for the input. A local CSV is read by the local engine's own reader in one streaming
    task (Ray reads a single file in one task too), so that a damaged line or a row that is not UTF-8
    keeps its place and gets its status as it does there. Elsewhere (a bucket URL), Ray's CSV reader
    with every column as raw bytes, decoded by the workers: a line whose field count is not the
    header's then stops the run."""
    if batch.parquet:
        return ray.data.read_parquet(batch.paths)
    if "://" not in batch.paths:
        from core.classify.ray_csv import LocalCsv

        return ray.data.read_datasource(LocalCsv(Path(batch.paths).resolve(), CHUNK_ROWS))
    import pyarrow.csv as pacsv

    header = _csv_header(batch.paths)
    return ray.data.read_csv(batch.paths, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                             convert_options=pacsv.ConvertOptions(column_types={name: pa.binary() for name in header},
                                                                  strings_can_be_null=False))


def _csv_header(paths: str) -> list[str]:
    """The CSV's column names (its first record), read from wherever Ray's readers read it."""
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(paths) if "://" in paths else (fs.LocalFileSystem(),
                                                                           str(Path(paths).resolve()))
    with filesystem.open_input_stream(path) as stream:
        first = io.TextIOWrapper(io.BytesIO(stream.read(1 << 20)), encoding="utf-8", errors="replace", newline="")
        return next(csv.reader(first), [])


def _decode_photos(frame: pd.DataFrame, folder: Path, withheld: dict[Path, str]) -> pd.DataFrame:
    """The decode stage (tasks): each row's photo decoded and shrunk as every scenario reads it
    (pixels), or why it cannot be used."""
    batch = BatchFile(folder / "input", folder, withheld)
    frame = decoded_text(frame)
    rows = batch.rows(frame, Columns.find(frame, batch.path), 0, photos_wanted=True)
    pixels, notes = [], []
    for path, problem in zip(rows.photos, rows.photo_problems):
        photo = decode_photo(path) if path is not None else problem
        pixels.append(np.asarray(photo) if isinstance(photo, Image.Image) else np.zeros((0, 0, 3), np.uint8))
        notes.append(photo if isinstance(photo, str) else "")
    return frame.assign(**{_PHOTO: pixels, _PHOTO_NOTE: notes})


class _Classify:
    """The model stage: one actor builds the scenario's model once and classifies batch after batch."""

    def __init__(self, scenario_name: str, data_fingerprint: str, threshold: ReviewThreshold, explain: bool,
                 folder: Path, withheld: dict[Path, str], device: str, workspace: Workspace,
                 vocabulary: frozenset[str] | None = None):
        scenario = scenario_named(scenario_name, workspace)
        self.estimator = workspace.results_store().load_estimator(scenario, data_fingerprint)
        if self.estimator is None:
            raise ScenarioUnavailableError(f"This worker finds no stored {scenario_name} classifier under "
                                      f"{workspace.results}: every node needs the same work folder "
                                      "($VITRINE_WORK_DIR).")
        self.attributor = scenario.attributor(self.estimator) if explain else None
        self.scenario = scenario.on_device(device) if device != "cpu" else scenario
        self.classes = [str(c) for c in self.estimator.classes_]
        self.threshold = threshold
        self.vocabulary = vocabulary
        self.batch = BatchFile(folder / "input", folder, withheld)

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        decoded = _PHOTO in frame
        text = decoded_text(frame.drop(columns=[_PHOTO, _PHOTO_NOTE]) if decoded else frame)
        rows = self.batch.rows(text, Columns.find(text, self.batch.path), 0, photos_wanted=False)
        photos = _photos(frame) if decoded else [None] * len(text)  # the decode stage's photos, or their problems
        return classify_chunk(rows, photos, self.scenario, self.estimator, self.classes, self.threshold,
                              self.attributor, vocabulary=self.vocabulary)


def _photos(frame: pd.DataFrame) -> list:
    photos = []
    for pixels, note in zip(frame[_PHOTO], frame[_PHOTO_NOTE]):
        pixels = np.asarray(pixels)
        photos.append(Image.fromarray(pixels) if pixels.size else (note or None))
    return photos
