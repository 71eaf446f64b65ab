"""The daily job: classify a file of new listings with a scenario's stored classifier.

Chunks in, chunks out: the input is read ``CHUNK_ROWS`` rows at a time and each chunk's output is
appended to a temporary file that replaces the output only once the whole batch is done, so memory
stays flat whatever the file's size and a stopped run leaves no half file. The next chunks are read in
a background thread (``core.classify.read_ahead``) and their photos decoded ahead of the model
(``core.classify.photo_decoding``): by worker threads on the CPU (threads kept up with the embedder where
worker processes did not: benchmarks/classify.py measures it), on the GPU itself when the scenario runs
there.
"""
from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn

from core.batch_check import BatchCheck, BatchReference, check_batch, unknown_share
from core.calibration import Promise, ReviewThreshold
from core.classify.batch_input import CHUNK_ROWS, BatchFile, BatchRows
from core.classify.photo_decoding import decode_photos, decoded_ahead, is_photo, photo_decoder
from core.classify.read_ahead import read_ahead
from core.errors import BatchInputError
from core.explain.base import Attributor, ListingInput
from core.exports import original_cells, write_csv
from core.hierarchy import BackOff
from core.progress import Progress, silent
from core.scenarios.base import Scenario
from core.wording import clause

TOP = 3
# Scenarios that read photos go in smaller chunks, so that decoding the next one overlaps the model's
# work on this one from the start (a chunk is a few of the model's batches).
PHOTO_CHUNK_ROWS = 128
# On a GPU a chunk is a few of its large batches.
GPU_PHOTO_CHUNK_ROWS = 1024
# Photos per batched GPU decode. torchvision decodes one batch at a time per process, so a few threads
# suffice to read the next groups' files meanwhile; more would only take Python's lock from the thread
# that runs the model.
GPU_PHOTO_GROUP = 128
GPU_PHOTO_WORKERS = 4
EXPLAINED_WORDS = 5
OK = "ok"
TEXT_ONLY = "text only: photo unusable"
NOT_CLASSIFIED = "not classified"
OUTPUT_SCHEMA = pa.schema(
    [("id", pa.string()), ("predicted", pa.string()), ("confidence", pa.float64())]
    + [field for k in range(1, TOP + 1) for field in ((f"top_{k}", pa.string()),
                                                       (f"top_{k}_probability", pa.float64()))]
    + [("needs_review", pa.bool_()), ("status", pa.string())]
)
WORDS_FIELD = pa.field("words", pa.string())


def level_fields(levels: int) -> list[pa.Field]:
    """The output's columns for a level below the first (``BackOff.columns``)."""
    return [pa.field("predicted_path", pa.string()), pa.field("accepted_level", pa.int64())] + \
        [pa.field(f"confidence_level{k}", pa.float64()) for k in range(1, levels + 1)]
# Each classified row's share of words the model never learnt, for the batch check; not written out.
UNKNOWN_WORDS = "unknown_words"
UNLIKE = "batch unlike the calibration data"


@dataclass(frozen=True)
class ClassifySummary:
    """What a batch run did, for the closing lines of ``classify`` and the app."""

    rows: int
    classified: int  # ok or text only
    text_only: int
    not_classified: int
    needs_review: int
    seconds: float
    output: Path
    engine_start_seconds: float = 0.0  # of ``seconds``, what starting the engine took (Ray's start-up)
    repeated_ids: int = 0  # rows whose id an earlier row already had
    # The first such row's id and its position (0-based; None where the rows' order is not known).
    first_repeat: tuple[str, int | None] | None = None
    filed: Mapping[int, int] = field(default_factory=dict)  # below the first level: listings filed per level
    unread_photos: str | None = None  # the batch's photo column, where the scenario reads no photo
    check: BatchCheck | None = None  # whether the batch looks like the calibration data
    # The scenario's name where it reads specifications and the batch has no column of them.
    without_specifications: str | None = None

    @property
    def listings_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary in words."""
        share = self.needs_review / self.rows if self.rows else 0.0
        speed = self.listings_per_second
        start = f" ({self.engine_start_seconds:.0f} s of the run's {self.seconds:.0f} s went to starting Ray)" \
            if self.engine_start_seconds >= 1 else ""
        text_only = f" ({self.text_only} on their text only, the photo being unusable)" if self.text_only else ""
        filed = "".join(f", {self.filed[k]} filed at level {k}" for k in sorted(self.filed, reverse=True))
        return [f"{self.rows} row(s): {self.classified} classified{text_only}, {self.not_classified} not classified",
                f"{self.needs_review} need review ({share:.1%}){filed}",
                f"{speed:,.{0 if speed >= 10 else 1}f} listings per second{start}; written to {self.output}"] + \
            ([self.repeats_line()] if self.repeated_ids else []) + \
            ([self.photos_line()] if self.unread_photos else []) + \
            ([self.specifications_line()] if self.without_specifications else []) + \
            ([self.check.line()] if self.check else [])

    def photos_line(self) -> str:
        """That the photos were not looked at, where the scenario reads none: no status speaks of them."""
        return (f"this scenario reads no photos: the batch's {self.unread_photos!r} column was not read, so no status "
                "says whether its photos can be used (the review page does, for the listings sent there)")

    def specifications_line(self) -> str:
        """That the batch lacks what the scenario learnt from: it is then less sure, and the check may say so."""
        return (f"the scenario {self.without_specifications} reads the specifications sellers filled in, and this "
                "batch has no column of them (product_specifications or specifications): it is classified on its "
                "names and descriptions alone, so the model is less sure of it than of the listings it learnt from")

    def repeats_line(self) -> str:
        """Rows that share an id with an earlier row, in words: often a file exported twice or joined badly."""
        rows = "1 row repeats" if self.repeated_ids == 1 else f"{self.repeated_ids:,} rows repeat"
        uniq_id, position = self.first_repeat
        shown = uniq_id if len(uniq_id) <= 60 else uniq_id[:59] + "…"
        where = "" if position is None else f", listing {position + 1:,}"
        return (f"{rows} the id of an earlier row (the first: {shown!r}{where}); each row was classified on its "
                "own and keeps its own place in review")


def classify_batch(batch: BatchFile, scenario: Scenario, estimator, threshold: ReviewThreshold, output: Path,
                   explain: bool = False, chunk_rows: int | None = None, workers: int | None = None,
                   device: str = "cpu", progress: Progress = silent, reference: BatchReference | None = None,
                   promise: Promise = Promise()) -> ClassifySummary:
    """Classify every row of ``batch`` and write one output row per input row, in input order, to
    ``output`` (Parquet, or CSV when its name ends in .csv), atomically. With ``device`` "cuda", a
    scenario that can use the GPU embeds there and its JPEGs are decoded there (explanations, which
    need the photo on the CPU, keep photo decoding there). With a ``reference``, the batch is compared
    with the calibration data (see ``write_output``)."""
    started = time.perf_counter()
    classes = [str(c) for c in estimator.classes_]
    attributor = scenario.attributor(estimator) if explain else None
    on_gpu = device != "cpu" and scenario.uses_gpu
    scenario = scenario.on_device(device) if on_gpu else scenario
    decoding, threads = (decode_photos, 8), os.cpu_count() or 1
    if on_gpu and not explain:
        from core.classify.gpu_photo_decoding import decode_photos_on  # torch only where a GPU is used

        decoding = (decode_photos_on(device, scenario.photo_finisher()), GPU_PHOTO_GROUP)
        threads = min(threads, GPU_PHOTO_WORKERS)

    def frames() -> Iterator[pd.DataFrame]:
        with photo_decoder(scenario.reads_photo, threads if workers is None else workers) as pool:
            photo_rows = GPU_PHOTO_CHUNK_ROWS if on_gpu else PHOTO_CHUNK_ROWS
            rows = chunk_rows or (photo_rows if scenario.reads_photo else CHUNK_ROWS)
            chunks = batch.chunks(rows, photos=scenario.reads_photo)
            for chunk, photos, texts in read_ahead(_with_texts(decoded_ahead(chunks, pool, *decoding), scenario)):
                yield classify_chunk(chunk, photos, scenario, estimator, classes, threshold, attributor, texts,
                                     reference.vocabulary if reference else None)

    counts = write_output(frames(), output, explain, progress, reference, promise.review_unlike)
    unread = batch.columns.photo if batch.columns and not scenario.reads_photo else None
    lacking = scenario.name if scenario.reads_specifications and batch.columns and \
        not batch.columns.specifications else None
    return ClassifySummary(seconds=time.perf_counter() - started, output=output, unread_photos=unread,
                           without_specifications=lacking, **counts)


def _with_texts(chunks: Iterable[tuple[BatchRows, list]], scenario: Scenario) -> Iterator[tuple[BatchRows, list, list]]:
    """Each chunk with its photos and its descriptions as the scenario's model reads them."""
    for chunk, photos in chunks:
        yield chunk, photos, scenario.texts_ahead(chunk.descriptions)


def write_output(frames: Iterable[pd.DataFrame], output: Path, explain: bool,
                 progress: Progress = silent, reference: BatchReference | None = None,
                 review_unlike: bool = False) -> dict:
    """Write the output frames, in order, to ``output`` (Parquet, or CSV when its name ends in .csv),
    atomically: a temporary file beside it replaces it once every frame is written, and a failure
    leaves nothing. With a ``reference`` the batch is checked against the calibration data before the
    file takes its name; an unlike batch has it said in each classified row's status, and with
    ``review_unlike`` every row needs review. Returns what a ``ClassifySummary`` reports."""
    counts = dict.fromkeys(("rows", "classified", "text_only", "not_classified", "needs_review"), 0)
    confidences, unknown = [], []
    repeats = RepeatedIds()
    with _writing(output):
        output.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".partial")
        os.close(handle)
    writer = OutputWriter(Path(temporary), explain, csv=output.suffix.lower() == ".csv")
    try:
        for frame in frames:
            with _writing(output):
                writer.write(frame)
            repeats.add(frame["id"], counts["rows"])
            for key, value in output_counts(frame).items():
                if isinstance(value, Counter):  # listings filed per level; update keeps a level with none
                    counts.setdefault(key, Counter()).update(value)
                else:
                    counts[key] += value
            confidences.append(frame["confidence"].to_numpy(dtype=float))
            if UNKNOWN_WORDS in frame:
                unknown.append(frame[UNKNOWN_WORDS].to_numpy(dtype=float))
            progress(counts["rows"], 0, "classifying listings")
        with _writing(output):
            writer.finish()
            if reference is not None:
                counts["check"] = check_batch(reference, np.concatenate(confidences or [np.array([])]),
                                              np.concatenate(unknown) if unknown else None)
                if counts["check"].unlike:
                    mark_unlike(Path(temporary), explain, review_unlike, writer.csv)
                    counts["needs_review"] = counts["rows"] if review_unlike else counts["needs_review"]
            os.chmod(temporary, 0o644)  # mkstemp makes the file private; the output is read like any other file
            os.replace(temporary, output)
    finally:
        writer.close()  # after a failure: the temporary file is removed below
        if os.path.exists(temporary):
            os.remove(temporary)
    return counts | repeats.counts()


@contextmanager
def _writing(output: Path) -> Iterator[None]:
    """A write that fails late (a full disk, a file-size limit, a folder taken away) said in one line; the
    file that had the output's name before the run is kept."""
    try:
        yield
    except OSError as exc:
        raise BatchInputError(f"The output {output} could not be written ({exc.strerror or exc}); nothing was "
                              "written under its name, and a file there before the run is kept.") from exc


class RepeatedIds:
    """Finds the rows of a batch whose id an earlier row had, keeping a 64-bit hash per id seen rather than
    the id itself: a million ids hold about 60 MB."""

    def __init__(self):
        self.seen: set[int] = set()
        self.repeated = 0
        self.first: tuple[str, int | None] | None = None

    def add(self, ids: Iterable, start: int | None) -> None:
        """The ids of the rows from position ``start`` on (None: positions unknown); a row without an id
        repeats nothing."""
        positions = itertools.count(start) if start is not None else itertools.repeat(None)
        for position, uniq_id in zip(positions, ids):
            if not isinstance(uniq_id, str) or not uniq_id:
                continue
            key = hash(uniq_id)
            if key in self.seen:
                self.repeated += 1
                self.first = self.first or (uniq_id, position)
            else:
                self.seen.add(key)

    def counts(self) -> dict:
        """What a ``ClassifySummary`` reports of them."""
        return {"repeated_ids": self.repeated, "first_repeat": self.first}


def output_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many output rows there are, were classified (on their text only), were not, and need review; below
    the first level, how many are filed at each level (``filed``)."""
    status = frame["status"].astype(str)
    return {"rows": len(frame), "classified": int(status.str.startswith((OK, TEXT_ONLY)).sum()),
            "text_only": int(status.str.startswith(TEXT_ONLY).sum()),
            "not_classified": int(status.str.startswith(NOT_CLASSIFIED).sum()),
            "needs_review": int(frame["needs_review"].sum()),
            **({"filed": Counter({k: int((frame["accepted_level"] == k).sum()) for k in range(
                1, 1 + sum(1 for c in frame.columns if c.startswith("confidence_level")))})}
               if "accepted_level" in frame else {})}


def classify_chunk(chunk: BatchRows, photos: list, scenario: Scenario, estimator, classes: list[str],
                   threshold: ReviewThreshold, attributor: Attributor | None,
                   texts: list | None = None, vocabulary: frozenset[str] | None = None) -> pd.DataFrame:
    """The output rows of one chunk: a status for every row, a prediction for those that can be read, and
    with an ``attributor`` (``--explain``) the words that drove each. ``texts``: the descriptions as
    ``scenario.texts_ahead`` prepared them, when it did. With the training ``vocabulary``, each classified
    row's share of unknown words too (``UNKNOWN_WORDS``, not written out)."""
    return pd.DataFrame(chunk_columns(chunk, photos, scenario, estimator, classes, threshold, attributor, texts,
                                      vocabulary))


def chunk_columns(chunk: BatchRows, photos: list, scenario: Scenario, estimator, classes: list[str],
                  threshold: ReviewThreshold, attributor: Attributor | None,
                  texts: list | None = None, vocabulary: frozenset[str] | None = None) -> dict[str, Sequence]:
    """``classify_chunk``'s columns, in order, before they make a frame: the service reads a few listings'
    answers from them directly (a frame and its records cost it as much as the model)."""
    statuses, usable = [], []
    for i, problem in enumerate(chunk.row_problems):
        photo, text = photos[i], f"{chunk.names[i]} {chunk.descriptions[i]}".strip()
        photo_problem = chunk.photo_problems[i] or (photo if isinstance(photo, str) else None)
        has_photo = scenario.reads_photo and is_photo(photo)
        has_text = scenario.reads_text and bool(text)
        if problem is not None:
            statuses.append(f"{NOT_CLASSIFIED}: {problem}")
        elif not (has_photo or has_text):
            statuses.append(f"{NOT_CLASSIFIED}: nothing to read ({_nothing_to_read(scenario, photo_problem)})")
        elif scenario.reads_photo and photo_problem and has_text:
            statuses.append(f"{TEXT_ONLY} ({clause(photo_problem)})")
        else:
            statuses.append(OK)
        if problem is None and (has_photo or has_text):
            usable.append(i)
    proba = np.full((len(statuses), len(classes)), np.nan)
    if usable:
        texts = chunk.descriptions if texts is None else texts
        features = scenario.features_of([_image(photos[i]) for i in usable], [chunk.names[i] for i in usable],
                                        [texts[i] for i in usable],
                                        [chunk.specifications[i] for i in usable])
        # The estimator was fitted with valid parameters, and text features (TF-IDF weights) are finite by
        # construction: scikit-learn checking them again took a quarter of a call on a few listings. A photo
        # model's embeddings keep their check.
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=not scenario.reads_photo):
            proba[usable] = estimator.predict_proba(features)
    columns = _output_columns(chunk.ids, proba, classes, statuses)
    if isinstance(threshold, BackOff):  # a level below the first: filed as deep as its cut-offs allow
        columns.update(threshold.columns(proba, classes))
        columns["needs_review"] = columns["accepted_level"] == 0
    else:
        columns["needs_review"] = threshold.needs_review(columns["confidence"], columns["predicted"])
    if vocabulary is not None and scenario.reads_text:
        shares = np.full(len(statuses), np.nan)
        for i in usable:
            shares[i] = unknown_share(f"{chunk.names[i]} {chunk.descriptions[i]}", vocabulary)
        columns[UNKNOWN_WORDS] = shares
    if attributor is not None:
        words = [None] * len(statuses)
        for i in usable:  # one listing at a time: a chunk in one CLIP backward pass would hold all its attentions
            listing = ListingInput(_image(photos[i]), chunk.names[i], chunk.descriptions[i], chunk.specifications[i])
            [explanation] = attributor.attribute([listing], probabilities=[dict(zip(classes, proba[i].tolist()))])
            ranked = sorted((w for w in explanation.words if w.seen), key=lambda w: -w.score)
            distinct = dict.fromkeys(w.word.lower() for w in ranked)  # a word said once, at its best rank
            words[i] = ", ".join(list(distinct)[:EXPLAINED_WORDS])
        columns["words"] = words
    return columns


def _nothing_to_read(scenario: Scenario, photo_problem: str | None) -> str:
    if scenario.reads_text and scenario.reads_photo:
        return "no title or description" + (f", and the photo is unusable: {clause(photo_problem)}" if photo_problem
                                             else " and no photo")
    if scenario.reads_text:
        return "no title or description"
    return f"this scenario reads the photo, and it is unusable: {clause(photo_problem)}" if photo_problem else \
        "this scenario reads the photo, and the row names none"


def _output_columns(ids: list[str], proba: np.ndarray, classes: list[str],
                    statuses: list[str]) -> dict[str, Sequence]:
    """id, prediction, confidence and the top classes with their probabilities (empty where not classified).
    Columns that make a frame in one go: adding them to a frame one by one cost the service most of a
    listing's time."""
    classified = ~np.isnan(proba).any(axis=1)
    order = np.argsort(-np.nan_to_num(proba, nan=-1.0), axis=1, kind="stable")
    names = np.array(classes, dtype=object)
    columns = {"id": ids, "predicted": np.where(classified, names[order[:, 0]], None),
               "confidence": np.where(classified, np.take_along_axis(proba, order[:, :1], axis=1)[:, 0], np.nan)}
    for k in range(TOP):
        if k < len(classes):
            columns[f"top_{k + 1}"] = np.where(classified, names[order[:, k]], None)
            columns[f"top_{k + 1}_probability"] = np.take_along_axis(proba, order[:, k:k + 1], axis=1)[:, 0]
        else:  # fewer classes than the top asked for: the columns stay, empty
            columns[f"top_{k + 1}"], columns[f"top_{k + 1}_probability"] = [None] * len(ids), np.full(len(ids), np.nan)
    columns["status"] = statuses
    return columns


def _image(photo):
    return photo if is_photo(photo) else None


def mark_unlike(path: Path, explain: bool, review_all: bool, csv: bool) -> None:
    """Rewrite a finished output file (Parquet, or ``csv``) of a batch unlike the calibration data:
    each classified row's status says so and, with ``review_all``, every row needs review. Chunk by chunk,
    through a second temporary file, so memory stays flat."""
    marked = path.with_name(path.name + ".marked")
    note = f"{UNLIKE}, sent to review whole" if review_all else f"{UNLIKE}, not guaranteed"
    writer = OutputWriter(marked, explain, csv)
    try:
        for frame in _chunks_of(path, writer.schema, csv):
            classified = ~frame["status"].astype(str).str.startswith(NOT_CLASSIFIED)
            frame.loc[classified, "status"] = frame.loc[classified, "status"].astype(str) + f"; {note}"
            if review_all:
                frame["needs_review"] = True
            writer.write(frame)
        writer.finish()
        os.replace(marked, path)
    finally:
        writer.close()
        if marked.exists():
            marked.unlink()


def _chunks_of(path: Path, schema: pa.Schema, csv: bool) -> Iterator[pd.DataFrame]:
    if not csv:
        for record_batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK_ROWS):
            yield record_batch.to_pandas()
        return
    types = {f.name: (str if pa.types.is_string(f.type) else bool if pa.types.is_boolean(f.type) else float)
             for f in schema}
    yield from (original_cells(chunk) for chunk in pd.read_csv(path, dtype=types, chunksize=CHUNK_ROWS))


class OutputWriter:
    """Appends output chunks to one Parquet or CSV file."""

    def __init__(self, path: Path, words: bool, csv: bool):
        self.path = path
        self.csv = csv
        self.schema = OUTPUT_SCHEMA.append(WORDS_FIELD) if words else OUTPUT_SCHEMA
        self.parquet: pq.ParquetWriter | None = None
        self.started = False

    def write(self, frame: pd.DataFrame) -> None:
        if not self.started and "accepted_level" in frame:  # a level below the first: its back-off's columns
            levels = sum(1 for name in frame.columns if name.startswith("confidence_level"))
            self.schema = pa.schema(list(self.schema) + level_fields(levels))
        frame = frame[self.schema.names]
        if self.csv:  # a person opens it in a spreadsheet: no cell may run as a formula
            write_csv(frame, self.path, append=self.started)
        else:
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.path, self.schema)
            self.parquet.write_table(pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False))
        self.started = True

    def finish(self) -> None:
        """Complete the file; an empty batch still gets a readable file with its columns."""
        if self.csv and not self.started:
            write_csv(pd.DataFrame(columns=self.schema.names), self.path)
        elif self.parquet is None and not self.started:
            pq.write_table(self.schema.empty_table(), self.path)
        self.close()

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
            self.parquet = None
