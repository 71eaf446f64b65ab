"""Classified batches sent to the operators' review queue, kept so the queue outlives the uploaded files.

A sent batch lives in the batches folder (the workspace's ``batches``) as ``<batch id>/``: ``manifest.json`` (its id,
the name the user knows it by, the scenario, when it was sent, its counts), ``flagged.parquet`` (one row
per flagged listing: its review key, row number and id, text, the model's answer, and why its photo
could not be copied where it named one) and ``photos/`` (each flagged listing's photo, downscaled and
re-encoded by us). A batch is written in a staging folder that
is renamed into place, so a batch is there whole or not at all.

Which rows are sent: every row the run flagged (``needs_review``) that has something to show a person,
a product name, a description or a photo; rows that could not be read at all (a broken line, text that
is not UTF-8, no id) are left out, as their content cannot be trusted. Rows not classified for want of
text that still have a photo are sent: they need a person most of all.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from core.classify.batch_input import CHUNK_ROWS, BatchFile, BatchRows
from core.classify.job import TOP
from core.errors import ImageError, ReviewStoreError
from core.exports import original_cells
from core.images import open_image
from core.review.answer_store import MAX_ID_CHARS
from core.wording import clause

KEY_PREFIX = "batch:"
PHOTO_SIDE = 480  # what the review page shows; the full photo is not needed any more
MANIFEST = "manifest.json"
TABLE = "flagged.parquet"
PHOTOS = "photos"
TABLE_SCHEMA = pa.schema(
    [("key", pa.string()), ("row", pa.int64()), ("id", pa.string()), ("product_name", pa.string()),
     ("description", pa.string()), ("photo", pa.string()), ("predicted", pa.string()), ("confidence", pa.float64())]
    + [(f"top_{k}", pa.string()) for k in range(1, TOP + 1)] + [("status", pa.string()), ("photo_problem", pa.string())]
)


@dataclass(frozen=True)
class SentBatch:
    """A batch in the review queue, as its manifest describes it."""

    batch_id: str
    name: str  # the input file's name
    scenario: str
    created: str  # ISO time, UTC
    rows: int  # rows in the batch
    flagged: int  # rows sent to review
    root: Path = field(compare=False)  # the batches folder it is in; not in its manifest

    @property
    def folder(self) -> Path:
        return self.root / self.batch_id

    def remove(self) -> None:
        """Take the batch out of review: its folder (flagged listings, photo copies) goes; the answers
        operators gave stay in the review store. Renamed aside first, so that no page ever sees half a
        batch."""
        aside = self.folder.with_name(f".removing-{self.batch_id}")
        try:
            self.folder.rename(aside)
        except OSError as exc:
            raise ReviewStoreError(f"The batch {self.name} could not be removed ({exc.strerror or exc}).") from exc
        shutil.rmtree(aside, ignore_errors=True)

    def outcome(self, needing_review: int) -> str:
        """What sending did, in words, for a run in which ``needing_review`` rows needed review."""
        left_out = needing_review - self.flagged
        if not self.flagged:
            return "no listing needs review: nothing was sent" if not needing_review else \
                (f"nothing was sent: the {needing_review} row(s) that need review could not be read or have nothing "
                 "to show an operator")
        return f"{self.flagged} listing(s) sent to review as batch {self.batch_id}" + (
            f"; {left_out} left out: they could not be read or have nothing to show an operator" if left_out else "")

    def title(self) -> str:
        """How the review page names this queue."""
        when = self.created[:16].replace("T", " ")
        return f"Batch {self.name} ({when} UTC, {self.flagged} flagged, id {self.batch_id})"  # the id: names repeat

    def table(self) -> pd.DataFrame:
        """The flagged listings, in input order."""
        return pq.read_table(self.folder / TABLE).to_pandas()

    def photo(self, name: str | None) -> Image.Image | None:
        """A flagged listing's photo from the batch folder; None when it had none."""
        if not isinstance(name, str) or not name:
            return None
        return open_image(self.folder / PHOTOS / Path(name).name)


def product_name_of(key: str, listings: pd.DataFrame, root: Path) -> str:
    """The product name operators know the listing under a review key by: a sent batch's own name for
    it (the batch in the batches folder ``root``), or the data set's (``listings``); the key itself when
    neither has it any more."""
    if is_batch_key(key):
        batch_id = key[len(KEY_PREFIX):].split(":", 1)[0]
        try:
            table = sent_batch(root, batch_id).table()
        except ReviewStoreError:  # the batch was removed from review
            return key
        names = table.loc[table["key"] == key, "product_name"]
    else:
        names = listings.loc[listings["uniq_id"] == key, "product_name"]
    return str(names.iloc[0]) if len(names) and isinstance(names.iloc[0], str) and names.iloc[0] else key


def review_key(batch_id: str, row: int, row_id: str) -> str:
    """The review store's key of a batch listing: ``batch:<batch id>:<row number>:<row id>``. It never
    equals a reference listing's id (those have no ``batch:`` prefix), two rows of a batch with the same
    id get different keys, and a row id too long for the store's column is replaced by a hash of it."""
    key = f"{KEY_PREFIX}{batch_id}:{row}:{row_id}"
    if len(key) <= MAX_ID_CHARS:
        return key
    return f"{KEY_PREFIX}{batch_id}:{row}:#{hashlib.sha256(row_id.encode()).hexdigest()[:16]}"


def is_batch_key(key: str) -> bool:
    return isinstance(key, str) and key.startswith(KEY_PREFIX)


def send_to_review(root: Path, batch: BatchFile, output: Path, scenario: str, name: str | None = None,
                   chunk_rows: int = CHUNK_ROWS) -> SentBatch:
    """Send the rows ``classify_batch`` flagged in ``output`` (its Parquet or CSV file for ``batch``) to
    the review queue in the batches folder ``root``; returns the sent batch (not stored when nothing was
    flagged). Reads the batch and its output side by side, a chunk at a time, so memory stays flat."""
    return _send(root, zip(batch.chunks(chunk_rows), _output_chunks(output, chunk_rows)), scenario,
                 name or batch.path.name, chunk_rows)


def send_rows_to_review(root: Path, rows: BatchRows, answers: pd.DataFrame, scenario: str, name: str) -> SentBatch:
    """Send the flagged ones of ``rows``, classified as ``answers`` (``classify``'s columns, one row each), to
    the review queue in the batches folder ``root`` as one batch called ``name``: the service's listings,
    whose photos are the bytes a request sent rather than files."""
    return _send(root, [(rows, answers)], scenario, name, CHUNK_ROWS)


def _send(root: Path, chunks: Iterable[tuple[BatchRows, pd.DataFrame]], scenario: str, name: str,
          chunk_rows: int) -> SentBatch:
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
    try:
        (staging / PHOTOS).mkdir()
        batch_id = _new_batch_id(name, created)
        writer = pq.ParquetWriter(staging / TABLE, TABLE_SCHEMA)
        rows = flagged = 0
        frames: list[pd.DataFrame] = []
        try:
            for chunk, answers in chunks:
                frame = _flagged(chunk, answers.reset_index(drop=True), staging / PHOTOS, batch_id)
                rows += len(chunk.ids)
                flagged += len(frame)
                frames.append(frame)
                if sum(len(f) for f in frames) >= chunk_rows:
                    _write(writer, frames)
            _write(writer, frames)
        finally:
            writer.close()
        sent = SentBatch(batch_id, name, scenario, created, rows, flagged, root)
        if not flagged:  # an empty queue would only clutter the review page's list
            shutil.rmtree(staging)
            return sent
        # Without its folder: the batches folder may be moved, or seen from another machine under another path.
        manifest = {key: value for key, value in asdict(sent).items() if key != "root"}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.rename(staging, root / batch_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sent


def sent_batches(root: Path) -> list[SentBatch]:
    """The batches in the review queue (the batches folder ``root``), newest first (a folder without a
    readable manifest is skipped)."""
    found = []
    for manifest in root.glob(f"*/{MANIFEST}") if root.is_dir() else []:
        if manifest.parent.name.startswith("."):
            continue
        try:
            found.append(SentBatch(**json.loads(manifest.read_text(encoding="utf-8")), root=root))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(found, key=lambda b: b.created, reverse=True)


def sent_batch(root: Path, batch_id: str) -> SentBatch:
    """One sent batch by id, in the batches folder ``root``; a ReviewStoreError when it is not there."""
    for batch in sent_batches(root):
        if batch.batch_id == batch_id:
            return batch
    raise ReviewStoreError(f"No batch {batch_id!r} is in the review queue.")


def _new_batch_id(name: str, created: str) -> str:
    """8 hex digits of a hash of the batch's name, the time it was sent and a random salt (the same file
    sent twice in a second still gets two batches)."""
    seed = f"{name}\0{created}\0".encode() + os.urandom(8)
    return hashlib.sha256(seed).hexdigest()[:8]


def _output_chunks(output: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The classified output, ``rows`` at a time, its cells as ``classify_batch`` computed them."""
    if output.suffix.lower() == ".csv":
        texts = dict.fromkeys(["id", "predicted", "status"] + [f"top_{k}" for k in range(1, TOP + 1)], str)
        for frame in pd.read_csv(output, dtype=texts, keep_default_na=False, na_values={"confidence": [""]},
                                 chunksize=rows):
            yield original_cells(frame)
    else:
        for part in pq.ParquetFile(output).iter_batches(batch_size=rows):
            yield part.to_pandas()


def _flagged(chunk: BatchRows, answers: pd.DataFrame, photos: Path, batch_id: str) -> pd.DataFrame:
    """The chunk's rows to review, their photos copied (downscaled) into ``photos``."""
    records = []
    for i, position in enumerate(chunk.positions):
        has_content = chunk.names[i].strip() or chunk.descriptions[i].strip() or chunk.photos[i] is not None
        if not bool(answers.at[i, "needs_review"]) or chunk.row_problems[i] is not None or not has_content:
            continue
        predicted = answers.at[i, "predicted"]
        photo, photo_problem = _copy_photo(chunk.photos[i], photos, position)
        records.append({
            "key": review_key(batch_id, position, chunk.ids[i]), "row": position, "id": chunk.ids[i],
            "product_name": chunk.names[i],
            "description": chunk.descriptions[i], "photo": photo,
            "predicted": predicted if isinstance(predicted, str) and predicted else None,
            "confidence": float(answers.at[i, "confidence"]),
            **{f"top_{k}": _text(answers.at[i, f"top_{k}"]) for k in range(1, TOP + 1)},
            "status": str(answers.at[i, "status"]), "photo_problem": chunk.photo_problems[i] or photo_problem})
    return pd.DataFrame(records, columns=TABLE_SCHEMA.names)


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _copy_photo(source: Path | bytes | None, photos: Path, position: int) -> tuple[str | None, str | None]:
    """The photo (a file, or the bytes a service request sent) decoded as every photo is, downscaled and saved
    as JPEG under ``photos``: its name there, or None and why it cannot be read (the listing is still reviewed
    on its text). None, None when the row has no photo."""
    if source is None:
        return None, None
    try:
        photo = open_image(source)
    except ImageError as exc:  # its message speaks of "this photo": the operator is told which one
        return None, clause(str(exc)) + (f" ({source.name})" if isinstance(source, Path) else "")
    photo.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    name = f"{position}.jpg"
    photo.save(photos / name, format="JPEG", quality=90)
    return name, None


def _write(writer: pq.ParquetWriter, frames: list[pd.DataFrame]) -> None:
    if frames:
        writer.write_table(pa.Table.from_pandas(pd.concat(frames, ignore_index=True), schema=TABLE_SCHEMA,
                                                preserve_index=False))
        frames.clear()
