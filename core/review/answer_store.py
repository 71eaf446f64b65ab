"""Operator answers, stored durably: one row per answer (operator, time, item, category (in the column
``label``), doubt, comment). Nothing is ever updated or deleted: an undo is a row of its own that cancels an
earlier answer, so the whole history stays and two operators saving at once never overwrite each other.

SQLite by default (WAL journal, busy timeout, one short transaction per answer); any SQLAlchemy URL
(PostgreSQL, say) through ``$VITRINE_REVIEW_DB`` (read into the workspace, ``core.workspace``). Where a check
decides a write (are the tables there? is this answer a double click?), the check and the write hold a lock
together: SQLite's write lock, taken at the transaction's start, or a PostgreSQL advisory lock; so processes
opening or saving at once never race.
"""
from __future__ import annotations

import hashlib
import sqlite3
import time
import unicodedata
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError

from core.errors import ReviewStoreError

MAX_OPERATOR_CHARS = 100
MAX_ID_CHARS = 64
MAX_CATEGORY_CHARS = 200
MAX_COMMENT_CHARS = 1000
# The same answer saved again this soon by the same operator is a double click on Save, not a new answer.
REPEAT_WINDOW = timedelta(seconds=10)
BUSY_TIMEOUT_S = 30  # how long a SQLite connection waits for a concurrent writer (or a switch to WAL) before failing

metadata = MetaData()
answers = Table(
    "answers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operator", String(MAX_OPERATOR_CHARS), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("uniq_id", String(MAX_ID_CHARS), nullable=False, index=True),
    Column("label", String(MAX_CATEGORY_CHARS)),  # the operator's category; None on an undo row
    Column("in_doubt", Boolean, nullable=False, default=False),
    Column("comment", Text, nullable=False, default=""),
    Column("scenario", String(64), nullable=False, default=""),
    Column("undoes", Integer, ForeignKey("answers.id"), nullable=True),
)
# Products an operator put aside: they leave that operator's queues, across reloads, until brought back.
skips = Table(
    "skips", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operator", String(MAX_OPERATOR_CHARS), nullable=False, index=True),
    Column("uniq_id", String(MAX_ID_CHARS), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)



@dataclass(frozen=True)
class Answer:
    """One operator's answer in force: the category they chose for a listing, whether they were in doubt."""

    id: int
    operator: str
    created_at: datetime
    uniq_id: str
    category: str  # the operator's, stored in the column "label"
    in_doubt: bool
    comment: str
    scenario: str


class ReviewStore:
    """Append-only answers table, and each operator's skipped products, behind a SQLAlchemy engine."""

    def __init__(self, url: str, create: bool = True):
        """The store at ``url``, made there when it is new; with ``create`` False (to read answers only), a
        database not made yet is left so, and a ReviewStoreError says that no answers exist yet, and where."""
        self.url = url
        self.engine: Engine = open_engine(url, create)
        try:
            if create:
                create_tables(self.engine, metadata, "create the tables")
            elif not holds_tables(self.engine, metadata):
                raise ReviewStoreError(f"No answers exist yet: there is no review database at {self.location} "
                                       "(the review page saves the operators' answers there).")
        except DatabaseError as exc:
            raise self._error("The review database cannot be opened", exc) from exc

    def save(self, operator: str, uniq_id: str, category: str, in_doubt: bool, comment: str = "",
             scenario: str = "", categories: Collection[str] | None = None) -> int:
        """Record one answer at once; returns its id. Refused with a ReviewStoreError saying why when the
        operator name is missing or too long, the category is empty (or, given ``categories``, not one of
        them) or the comment is longer than ``MAX_COMMENT_CHARS``. The operator's latest answer saved
        again within ``REPEAT_WINDOW`` is stored once: its id is returned."""
        operator = checked_operator(operator)
        comment = comment or ""
        _check_answer(uniq_id, category, comment, categories)
        return self._insert(dict(operator=operator, uniq_id=uniq_id, label=category, in_doubt=bool(in_doubt),
                                 comment=comment, scenario=scenario), skip_repeat=True)

    def undo_last(self, operator: str) -> Answer | None:
        """Cancel the operator's latest answer still in force (by adding an undo row); returns it."""
        current = [a for a in self.active_answers() if a.operator == operator.strip()]
        if not current:
            return None
        last = max(current, key=lambda a: a.id)
        self._insert(dict(operator=last.operator, uniq_id=last.uniq_id, label=None, in_doubt=False, comment="",
                          scenario=last.scenario, undoes=last.id))
        return last

    def skip(self, operator: str, uniq_id: str) -> None:
        """Put a product aside for ``operator``: it stays out of their queues until ``bring_back``."""
        operator = checked_operator(operator)
        try:
            with self.engine.begin() as connection:
                if uniq_id not in self._skipped(connection, operator):
                    connection.execute(skips.insert().values(operator=operator, uniq_id=uniq_id,
                                                             created_at=datetime.now(timezone.utc)))
        except DatabaseError as exc:
            raise self._error("The product was not skipped", exc, retry=True) from exc

    def skipped(self, operator: str) -> set[str]:
        """The products ``operator`` put aside."""
        try:
            with self.engine.connect() as connection:
                return self._skipped(connection, operator.strip())
        except DatabaseError as exc:
            raise self._error("The skipped products cannot be read", exc) from exc

    def bring_back(self, operator: str, uniq_ids: set[str] | None = None) -> int:
        """Return the products ``operator`` skipped (those of ``uniq_ids``, or every one) to their queues;
        how many came back."""
        chosen = skips.c.operator == operator.strip()
        if uniq_ids is not None:
            chosen = chosen & skips.c.uniq_id.in_(sorted(uniq_ids))
        try:
            with self.engine.begin() as connection:
                return connection.execute(skips.delete().where(chosen)).rowcount
        except DatabaseError as exc:
            raise self._error("The skipped products were not brought back", exc, retry=True) from exc

    @staticmethod
    def _skipped(connection, operator: str) -> set[str]:
        return set(connection.execute(select(skips.c.uniq_id).where(skips.c.operator == operator)).scalars())

    def _insert(self, values: dict, skip_repeat: bool = False) -> int:
        try:
            # Locked per operator: two processes saving the same answer at once (a double click reaching
            # two app processes) would each find no repeat, then both insert it. The time is taken once
            # the lock is held, so that answers saved in turn are timed in the order they are stored.
            with _locked_transaction(self.engine, f"answers of {values['operator']}") as connection:
                values = {**values, "created_at": datetime.now(timezone.utc)}
                if skip_repeat and (repeated := _repeated_answer(connection, values)) is not None:
                    return repeated
                return int(connection.execute(answers.insert().values(**values)).inserted_primary_key[0])
        except DatabaseError as exc:
            raise self._error("Your answer was not saved", exc, retry=True) from exc

    def history(self) -> pd.DataFrame:
        """Every row ever written, undo rows included, oldest first."""
        try:
            with self.engine.connect() as connection:  # not pd.read_sql: it hides the database's error type
                rows = connection.execute(select(answers).order_by(answers.c.id))
                frame = pd.DataFrame(rows.fetchall(), columns=list(rows.keys()))
        except DatabaseError as exc:
            raise self._error("The answers cannot be read", exc) from exc
        # SQLite gives the stored UTC times back without their zone, PostgreSQL in its server's zone.
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        frame["undoes"] = frame["undoes"].astype("Int64")  # an answer's id (1, not 1.0), empty on most rows
        return frame

    def active_answers(self) -> list[Answer]:
        """Answers not cancelled by an undo, oldest first."""
        rows = self.history()
        undone = set(rows["undoes"].dropna().astype(int))
        kept = rows[rows["undoes"].isna() & ~rows["id"].isin(undone)]
        return [Answer(int(r.id), r.operator, r.created_at, r.uniq_id, r.label, bool(r.in_doubt), r.comment,
                       r.scenario) for r in kept.itertuples()]

    def active_frame(self) -> pd.DataFrame:
        """The answers in force as a table (the CSV export)."""
        columns = ["id", "operator", "created_at", "uniq_id", "category", "in_doubt", "comment", "scenario"]
        frame = pd.DataFrame([vars(a) for a in self.active_answers()], columns=columns)
        return frame.rename(columns={"category": "label"})  # the column's name in the database and the exports

    @property
    def location(self) -> str:
        """Where the answers are kept, as the operator can find it: the SQLite file's full path, or
        the database URL without its password."""
        url = self.engine.url
        if url.get_backend_name() != "sqlite":
            return url.render_as_string(hide_password=True)
        if not url.database or url.database.startswith("file:"):
            return url.database or "memory"
        return str(Path(url.database).resolve())

    def _error(self, what: str, exc: DatabaseError, retry: bool = False) -> ReviewStoreError:
        """A message for the operator: what failed and why; for a damaged file, where it is and what to do,
        in words that fit the review page and the command line alike (both show it)."""
        text = str(exc.orig) if exc.orig is not None else str(exc)
        if "file is not a database" in text or "malformed" in text:
            # Never repaired nor replaced here: the operator may still recover answers from the file.
            return ReviewStoreError(
                f"{what}: the review database {self.location} is damaged ({text.splitlines()[0]}). It was left "
                "untouched. Move it aside (or restore it from a backup), then try again: the review page starts "
                "a new, empty review database where none is there.")
        return store_error(self.engine, what, exc, retry)


def holds_tables(engine: Engine, tables: MetaData) -> bool:
    """Whether the database is there with all of ``tables``, found out without making it (connecting to a
    missing SQLite file creates it)."""
    database = engine.url.database or ""  # empty for an in-memory SQLite database
    on_a_file = engine.dialect.name == "sqlite" and not database.startswith("file:")
    if on_a_file and not Path(database).is_file():
        return False
    return set(tables.tables) <= set(inspect(engine).get_table_names())


def create_tables(engine: Engine, tables: MetaData, lock: str) -> None:
    """The ones of ``tables`` a database lacks, made once however many processes open it at the same moment
    (unlocked, a second one found no table, then failed on the first one's: 'already exists')."""
    if holds_tables(engine, tables):
        return  # the usual case: no lock to wait for, and a read-only database opens too
    with _locked_transaction(engine, lock) as connection:
        tables.create_all(connection)  # checks again, under the lock, what is there


def store_error(engine: Engine, what: str, exc: DatabaseError, retry: bool = False) -> ReviewStoreError:
    """A message for the operator: what failed, why, and whether trying again may help."""
    reason = _failure_reason(str(exc.orig) if exc.orig is not None else str(exc), engine.dialect.name)
    return ReviewStoreError(f"{what} ({reason}){'; please try again' if retry else ''}.")


@contextmanager
def _locked_transaction(engine: Engine, lock: str) -> Iterator[Connection]:
    """A transaction that holds ``lock`` from its start to its end, so that what it reads and what it writes
    are one step for every process: SQLite's write lock on the whole file (BEGIN IMMEDIATE), or on PostgreSQL
    an advisory lock named after ``lock``, which other processes wait for."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(_lock_key(lock))))
        yield connection


def open_engine(url: str, create: bool = True) -> Engine:
    """The SQLAlchemy engine of the database at ``url`` as every store of the review database opens it: SQLite
    in WAL mode, waiting for a concurrent writer rather than failing (its folder made when ``create``), any
    other database with its connections checked before use."""
    if not url.startswith("sqlite:///"):
        return create_engine(url, pool_pre_ping=True)
    path = url.removeprefix("sqlite:///").split("?")[0]
    if create and not path.startswith("file:"):  # a plain path (not a URI such as file:...?mode=ro)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _repeated_answer(connection, values: dict) -> int | None:
    """The id of the operator's latest row when it holds this same answer and is younger than
    ``REPEAT_WINDOW``; None otherwise (an undo in between makes the answer a new one)."""
    latest = connection.execute(select(answers).where(answers.c.operator == values["operator"])
                                .order_by(answers.c.id.desc()).limit(1)).first()
    if latest is None or latest.undoes is not None:
        return None
    if any(getattr(latest, name) != values[name] for name in ("uniq_id", "label", "in_doubt", "comment", "scenario")):
        return None
    # SQLite gives the stored UTC time back without its zone.
    created = latest.created_at if latest.created_at.tzinfo else latest.created_at.replace(tzinfo=timezone.utc)
    return latest.id if values["created_at"] - created < REPEAT_WINDOW else None


def checked_operator(operator: str) -> str:
    """The operator name stripped; a ReviewStoreError when it is empty, longer than its column, or holds a
    character that does not show."""
    operator = operator.strip() if isinstance(operator, str) else ""
    if not operator:
        raise ReviewStoreError("Please enter your operator name before answering.")
    _check_no_nul("Your operator name", operator)
    # Control and format characters (Unicode's Cc and Cf: the bidirectional controls U+202A-U+202E,
    # U+2066-U+2069, U+200E, U+200F and U+061C among them) do not show, or reorder what does: a name could
    # pass for another operator's in the summary and the exports.
    if invisible := next((char for char in operator if unicodedata.category(char) in ("Cc", "Cf")), None):
        raise ReviewStoreError(f"Your operator name holds the invisible character U+{ord(invisible):04X} "
                               f"({unicodedata.name(invisible, 'a control character')}), which can make one name "
                               "look like another; please use a name without it.")
    if len(operator) > MAX_OPERATOR_CHARS:
        raise ReviewStoreError(f"Your operator name has {len(operator)} characters; at most {MAX_OPERATOR_CHARS} "
                               "fit. Please use a shorter one.")
    return operator


def _check_answer(uniq_id: str, category: str, comment: str, categories: Collection[str] | None) -> None:
    """A ReviewStoreError for an answer its columns cannot hold or the summary cannot count."""
    if not isinstance(uniq_id, str) or not uniq_id or len(uniq_id) > MAX_ID_CHARS:
        raise ReviewStoreError(f"The product id {uniq_id!r} cannot be stored: an id has 1 to {MAX_ID_CHARS} "
                               "characters.")
    _check_no_nul("The product id", uniq_id)
    if not isinstance(category, str) or not category.strip():
        raise ReviewStoreError("Pick a category before saving the answer.")
    if categories is not None and category not in categories:
        raise ReviewStoreError(f"{category!r} is not one of this data set's categories; pick one of them.")
    if len(category) > MAX_CATEGORY_CHARS:
        raise ReviewStoreError(f"A category name has at most {MAX_CATEGORY_CHARS} characters; this one has "
                               f"{len(category)}.")
    _check_no_nul("The category", category)
    if len(comment) > MAX_COMMENT_CHARS:
        raise ReviewStoreError(f"The comment has {len(comment)} characters; at most {MAX_COMMENT_CHARS} are kept. "
                               "Please shorten it.")
    _check_no_nul("The comment", comment)


def _check_no_nul(what: str, text: str) -> None:
    """Refused on every backend alike: PostgreSQL's text columns cannot hold a NUL character (SQLite's can)."""
    if "\x00" in text:
        raise ReviewStoreError(f"{what} holds a NUL character (\\x00), which the review database cannot keep; "
                               "please remove it.")


def _lock_key(lock: str) -> int:
    """A PostgreSQL advisory lock's number (a signed 64-bit integer) for a lock's name, the same in every
    process (Python's own ``hash`` of a string changes from one process to the next)."""
    return int.from_bytes(hashlib.sha256(f"vitrine review: {lock}".encode()).digest()[:8], "big", signed=True)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")  # wait for a concurrent writer instead of failing
    _switch_to_wal(cursor)
    cursor.close()


def _switch_to_wal(cursor) -> None:
    """WAL journal mode (readers never block the writer), which the file keeps once set. Switching needs the
    database to itself for a moment, and SQLite answers "locked" at once, busy timeout or not, to processes that
    open a new database together (measured: 22 of 600 such connections failed): so the switch is made only
    where it is not done yet, and retried for as long as the busy timeout would wait."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _failure_reason(text: str, backend: str) -> str:
    """Why a database refused, in words (its first line where it is none of the usual reasons)."""
    if "readonly" in text or "read-only" in text:
        return "the database file is read-only" if backend == "sqlite" else "the database is read-only"
    if "locked" in text:
        return "the database is busy or locked by another program"
    return text.splitlines()[0]
