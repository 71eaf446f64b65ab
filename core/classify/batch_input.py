"""Reading a file of new listings in chunks, whatever its shape, one row out per row in.

A batch is a CSV or Parquet file, or a folder or zip in the reference layout (a CSV beside
``images/``). It needs an id column and at least a description or a product name; a photo column, if
any, holds paths relative to the file's folder (a bare file name is also looked for in ``images/``).
A row that cannot be read keeps its place and says why, so the output lines up with the input.
"""
from __future__ import annotations

import codecs
import csv
import tempfile
import zipfile
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from core.archive import extract_batch_zip
from core.errors import BatchInputError
from core.images import UnsafeImageNameError
from core.locations import find_csv, find_images_dir
from core.specifications import SPECIFICATION_COLUMNS, specification_text

ID_COLUMNS = ("uniq_id", "id")
NAME_COLUMNS = ("product_name", "title", "name")
DESCRIPTION_COLUMNS = ("description",)
PHOTO_COLUMNS = ("photo", "image", "image_path")
CHUNK_ROWS = 2_000
# Marks a CSV line whose fields did not match the header, so that it keeps its place and its reason.
_BAD_LINE = "\x00vitrine-bad-line:"
# A record the reader refused after taking in several lines (a broken quote): the lines after its first
# are read again, as rows of their own; those of them that are not whole rows say so.
_QUOTE_RUNS_ON = ("a quote opened on this line closes only on a later line, so the row runs on with too many fields "
                  "(the lines after it are read as their own rows; a quote inside a field is written twice, \"\")")
_CONTINUES_ABOVE = "this line seems to belong to a row above it whose quotes are broken (it has too few fields)"
# Bytes that are not UTF-8 are read as a private-use character no text holds, so their rows are known.
_UNDECODABLE_MARK = "\U0010fffd"
_UNDECODABLE = "vitrine-undecodable"
codecs.register_error(_UNDECODABLE, lambda error: (_UNDECODABLE_MARK, error.end))


@dataclass(frozen=True)
class BatchRows:
    """One chunk of a batch: for each input row, its position, id, text, photo and any problem."""

    positions: list[int]  # 0-based row number in the input, the header not counted
    ids: list[str]
    names: list[str]
    descriptions: list[str]
    specifications: list[str]  # the values sellers filled in (core.specifications), or empty
    photos: list[Path | bytes | None]  # a photo file inside the batch's folder (the service's: bytes), or None
    photo_problems: list[str | None]  # why a named photo cannot be used (its path leaves the folder...)
    row_problems: list[str | None]  # why the row cannot be read at all


@dataclass(frozen=True)
class BatchFile:
    """A batch's listings file and the folder its photo paths are relative to."""

    path: Path
    folder: Path
    # Photos a zip held but that were not unpacked (too large), by the resolved path they would have had,
    # each with why: the rows that name them say so.
    withheld: dict[Path, str] = field(default_factory=dict, hash=False)

    @cached_property
    def root(self) -> Path:
        """The folder with its links resolved, once per batch rather than once per photo."""
        return self.folder.resolve()

    @cached_property
    def columns(self) -> Columns | None:
        """Which columns hold what, from the header and the first row (a file of a header alone: from the
        header); BatchInputError when the file cannot be read or lacks an id or text column."""
        frames = self._frames(1)
        try:
            first = next(frames, None)
        finally:
            frames.close()
        return Columns.find(pd.DataFrame(columns=self._header()) if first is None else first, self.path)

    def _header(self) -> list[str]:
        """The column names of a file that holds no listings (its rows were read already, so it can be)."""
        if self.path.suffix.lower() == ".parquet":
            return pq.ParquetFile(self.path).schema_arrow.names
        with self.path.open(encoding="utf-8-sig", errors=_UNDECODABLE, newline="") as handle:
            return _unique(next(csv.reader(handle), []))

    def check(self) -> None:
        """Raise BatchInputError now, before any model loads, when the file cannot be read or lacks an id or
        text column."""
        self.columns  # read once, kept for the chunks

    def chunks(self, rows: int = CHUNK_ROWS, photos: bool = True) -> Iterator[BatchRows]:
        """The listings, ``rows`` at a time, in input order; their photo files looked up with ``photos``."""
        start = 0
        for frame in self._frames(rows):
            yield self.rows(frame, self.columns, start, photos)
            start += len(frame)

    def _frames(self, rows: int) -> Iterator[pd.DataFrame]:
        return _parquet_frames(self.path, rows) if self.path.suffix.lower() == ".parquet" else \
            csv_frames(self.path, rows)

    def rows(self, frame: pd.DataFrame, columns: Columns, start: int, photos_wanted: bool) -> BatchRows:
        """The rows of one chunk (``start``: its first row's number), each with its photo file looked up
        when ``photos_wanted`` and any problem that stops it being read."""
        ids = _texts(frame, (columns.id,))
        names = _texts(frame, columns.names)
        descriptions = _texts(frame, columns.descriptions)
        specifications = _texts(frame, columns.specifications)
        photo_names = _texts(frame, (columns.photo,) if columns.photo and photos_wanted else ())
        photos, photo_problems, row_problems = [], [], []
        for uniq_id, name, description, specification, photo in zip(ids, names, descriptions, specifications,
                                                                     photo_names):
            problem = None
            if description.startswith(_BAD_LINE):
                problem = description.removeprefix(_BAD_LINE)
            elif _UNDECODABLE_MARK in uniq_id + name + description + specification + photo:
                problem = "the row is not valid UTF-8 text (save the file as UTF-8)"
            elif not uniq_id.strip():
                problem = "the row has no id"
            row_problems.append(problem)
            path, photo_problem = self.photo_path(photo) if photo and problem is None else (None, None)
            photos.append(path)
            photo_problems.append(photo_problem)
        return BatchRows(list(range(start, start + len(frame))), [i.strip() for i in ids], names, descriptions,
                         [specification_text(s) for s in specifications], photos, photo_problems, row_problems)

    def photo_path(self, name: str) -> tuple[Path | None, str | None]:
        """The photo file a row names, or why it cannot be used."""
        try:
            path = _inside(self.root, name)
        except UnsafeImageNameError:
            return None, f"its path {name!r} leaves the batch's folder"
        if not path.is_file():
            beside = None
            if "/" not in name and "\\" not in name:
                images = find_images_dir(self.folder).name
                try:  # the images folder may itself be a link out of the batch's folder
                    beside = _inside(self.root, f"{images}/{name}")
                except UnsafeImageNameError:
                    return None, f"its path {name!r} in {images}/ leaves the batch's folder"
            withheld = self.withheld.get(path) or self.withheld.get(beside)
            if withheld:
                return None, withheld
            if beside is None or not beside.is_file():
                return None, f"the file {name!r} is not there"
            path = beside
        return path, None


@dataclass(frozen=True)
class Columns:
    """Which of a batch's columns hold the id, the names, descriptions, specifications and photos."""

    id: str
    names: tuple[str, ...]
    descriptions: tuple[str, ...]
    specifications: tuple[str, ...]
    photo: str | None

    @classmethod
    def find(cls, frame: pd.DataFrame, path: Path) -> Columns:
        present = {str(c).strip().lower(): c for c in frame.columns}
        ids = [present[c] for c in ID_COLUMNS if c in present]
        names = tuple(present[c] for c in NAME_COLUMNS if c in present)[:1]
        descriptions = tuple(present[c] for c in DESCRIPTION_COLUMNS if c in present)
        specifications = tuple(present[c] for c in SPECIFICATION_COLUMNS if c in present)[:1]
        photos = [present[c] for c in PHOTO_COLUMNS if c in present]
        if not ids or not (names or descriptions):
            missing = " and no ".join(([f"id column ({' or '.join(ID_COLUMNS)})"] if not ids else [])
                                      + ([f"description or product name column "
                                          f"({', '.join(DESCRIPTION_COLUMNS + NAME_COLUMNS)})"]
                                         if not (names or descriptions) else []))
            header = ", ".join(map(str, frame.columns)) or "no column"
            hint = " It looks separated by ';': save it as CSV with commas (UTF-8)." if \
                len(frame.columns) == 1 and ";" in str(frame.columns[0]) else ""
            raise BatchInputError(f"{path.name} has no {missing}; it has {header}.{hint}")
        return cls(ids[0], names, descriptions, specifications, photos[0] if photos else None)


def _inside(root: Path, name: str) -> Path:
    """``name`` as a path inside the resolved folder ``root``; UnsafeImageNameError when it would leave it."""
    candidate = Path(name.replace("\\", "/"))
    resolved = (root / candidate).resolve()
    if candidate.is_absolute() or "\x00" in name or root not in resolved.parents:
        raise UnsafeImageNameError(name)
    return resolved


def readable(text: str) -> str:
    """``text`` as a person should see it: bytes that were not UTF-8 as the usual replacement character."""
    return text.replace(_UNDECODABLE_MARK, "\ufffd")


def decoded_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A chunk read as raw bytes (as the Ray engine reads CSVs) as text; bytes that are not UTF-8 are
    marked, so their row gets its status as in the local engine."""
    return frame.map(lambda v: v.decode("utf-8", errors=_UNDECODABLE) if isinstance(v, bytes) else v)


def _texts(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """The columns' values as text, joined by a space where there are several (missing: empty)."""
    if not columns:
        return [""] * len(frame)
    parts = [frame[c].map(_cell_text) for c in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.str.cat(part, sep=" ").str.strip()
    return joined.tolist()


def _cell_text(value) -> str:
    """One cell as text, whatever Parquet or Ray gave: bytes decoded as UTF-8 (bytes that are not get the
    row its status), a list's items joined by spaces, a missing value empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors=_UNDECODABLE)
    if isinstance(value, list | tuple | np.ndarray):
        return " ".join(filter(None, (_cell_text(item) for item in value)))
    return str(value)


def csv_frames(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """A CSV's listings ``rows`` at a time, every value as text, blank lines skipped. A record that is not
    valid CSV (a stray or unclosed quote), one whose field count is not the header's and bytes that are not
    UTF-8 keep their place, marked, so that their row gets its status: one bad line never costs the others.
    BatchInputError when the file is no CSV that can be read."""
    # utf-8-sig: the byte-order mark Excel's "CSV UTF-8" puts first is no part of the first column's name.
    with path.open(encoding="utf-8-sig", errors=_UNDECODABLE, newline="") as handle:
        lines = _RecordLines(handle)
        reader = csv.reader(lines, strict=True)
        try:
            header = next(reader)
        except StopIteration as exc:
            raise BatchInputError(f"{path.name} is empty: it holds no header line and no listings.") from exc
        except csv.Error as exc:
            raise BatchInputError(f"{path.name} is not a CSV file that can be read ({exc}).") from exc
        if any(_UNDECODABLE_MARK in name or "\x00" in name for name in header):
            raise BatchInputError(f"{path.name} is not a CSV text file (its first line is not UTF-8 text: is it an "
                                  "image or a spreadsheet? Save the listings as CSV, UTF-8).")
        columns = _unique(header)
        marked = next((i for i, name in enumerate(header) if name.strip().lower() == "description"), len(header) - 1)
        chunk: list[list[str]] = []
        broken_quote_above = False  # a broken quote took in several lines: short rows after it are its pieces
        while True:
            lines.current.clear()
            refused = False
            try:
                fields = next(reader)
                # Fewer fields are the last ones left empty, as spreadsheets write them; more are a mistake.
                problem = None if len(fields) <= len(header) else \
                    f"the line has {len(fields)} fields where the header has {len(header)}"
                if problem and len(lines.current) > 1:
                    fields, problem, refused = lines.first_fields(), _QUOTE_RUNS_ON, True
            except StopIteration:
                break
            except csv.Error as exc:
                fields, problem, refused = lines.first_fields(), _csv_problem(exc), True
            if refused and len(lines.current) > 1:
                lines.read_again()
                broken_quote_above = True
            elif not problem and fields:
                if broken_quote_above and len(fields) < len(header):
                    problem = _CONTINUES_ABOVE
                else:
                    broken_quote_above = False
            if not fields:
                continue  # a blank line
            fields = (fields + [""] * len(header))[:len(header)]
            if problem:
                fields[marked] = _BAD_LINE + problem
            chunk.append(fields)
            if len(chunk) == rows:
                yield pd.DataFrame(chunk, columns=columns, dtype=object)
                chunk = []
        if chunk:
            yield pd.DataFrame(chunk, columns=columns, dtype=object)


class _RecordLines:
    """A file's lines for ``csv.reader``, keeping those of the record being read: a record the reader
    refuses still shows its first fields (its id), read leniently from its first line, and the lines a
    broken quote made it take in after that one are read again, as the records they are."""

    def __init__(self, handle):
        self.handle = handle
        self.current: list[str] = []
        self.again: deque[str] = deque()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.again.popleft() if self.again else next(self.handle)
        self.current.append(line)
        return line

    def read_again(self) -> None:
        """Give the reader the current record's lines after its first once more."""
        self.again.extendleft(reversed(self.current[1:]))

    def first_fields(self) -> list[str]:
        if not self.current:
            return []
        try:
            return next(csv.reader(self.current[:1]), [])
        except csv.Error:  # the line itself is past what the reader takes: its first field, unquoted
            return [self.current[0].split(",", 1)[0].strip('"')[:200]]


def _csv_problem(error: csv.Error) -> str:
    """A record ``csv.reader`` refused, in the user's words."""
    if "field larger than field limit" in str(error):
        return f"a field is longer than {csv.field_size_limit():,} characters, far more than any listing holds"
    if "unexpected end of data" in str(error):
        return "a quote opened on this line is never closed (close it; a quote inside a field is written twice, \"\")"
    if "expected after" in str(error):
        return ("a quote opened on this line closes in the middle of a field (a quote inside a field is written "
                "twice, \"\")")
    return f"the line is not valid CSV ({error}; a quote inside a field is written twice, \"\")"


def _unique(header: list[str]) -> list[str]:
    """Column names made unique as pandas makes them (a repeated ``name`` becomes ``name.1``)."""
    seen: dict[str, int] = {}
    names = []
    for name in header:
        count = seen.get(name, 0)
        names.append(name if count == 0 else f"{name}.{count}")
        seen[name] = count + 1
    return names


def _parquet_frames(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            yield batch.to_pandas()
    except (OSError, ValueError) as exc:
        raise BatchInputError(f"{path.name} is not a Parquet file that can be read: {exc}") from exc


@contextmanager
def open_batch(source: Path, photos: bool = True) -> Iterator[BatchFile]:
    """The batch at ``source`` (a CSV or Parquet file, or a folder or zip holding one CSV and its
    photos); a zip is unpacked, within the import's limits, into a folder removed afterwards (its photos
    only when ``photos``: a run that reads none need not unpack them)."""
    if not source.exists():
        raise BatchInputError(f"{source} does not exist.")
    if source.is_dir():
        csv_path = find_csv(source)
        if csv_path is None:
            found = sorted(path.name for path in source.glob("*.csv"))
            raise BatchInputError(f"{source} holds no listings CSV." if not found else
                                  f"{source} holds {len(found)} CSV files ({', '.join(found[:5])}"
                                  f"{', …' if len(found) > 5 else ''}): which one is the "
                                  "batch? Give that file, or a folder holding only it.")
        yield BatchFile(csv_path, source)
    elif source.suffix.lower() == ".zip" or zipfile.is_zipfile(source):
        with tempfile.TemporaryDirectory(prefix="vitrine-batch-") as unpacked:
            folder = Path(unpacked)
            withheld = extract_batch_zip(source, folder, photos)
            yield BatchFile(find_csv(folder), folder, withheld)
    elif source.suffix.lower() in {".csv", ".parquet"}:
        yield BatchFile(source, source.parent)
    else:
        raise BatchInputError(f"{source.name} is not a CSV or Parquet file, nor a folder or zip of listings.")
