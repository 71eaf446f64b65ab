"""The history of classified batches: one record per batch the daily job classified, from the command line,
the app or the service (which keeps one per scenario and UTC hour: ``PeriodTally``), so that a data team sees
the model age (a falling accepted share, operators agreeing with it less, batches unlike the calibration data)
before the marketplace does.

The records live in the review database, beside the operators' answers (the same URL, engine and locks as
``core.review.answer_store``): a team whose answers are in PostgreSQL shares its history too. Two tables:
``classified_batches`` (one row per batch: when, where from, its counts, the drift verdict, the review cut-off
in words, the review batch its flagged listings went to) and ``batch_predictions`` (the model's category of
each listing sent to review, by its review key: what the answers are compared with, kept when the batch
leaves the review page). How often operators agreed with the model is computed from the answers when asked,
never stored.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
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
    select,
    update,
)
from sqlalchemy.exc import DatabaseError

from core.batch_check import BatchReference, check_batch
from core.classify.job import NOT_CLASSIFIED, TEXT_ONLY, ClassifySummary
from core.errors import ReviewStoreError
from core.review.answer_store import (
    MAX_CATEGORY_CHARS,
    MAX_ID_CHARS,
    ReviewStore,
    create_tables,
    holds_tables,
    open_engine,
    store_error,
)
from core.review.summary import summarise_batch

SOURCES = ("cli", "app", "service")
PERIOD = timedelta(hours=1)  # the service's records: one per scenario per UTC hour
# Confidences the service keeps per period for the batch check: a uniform sample of the period's listings
# (reservoir sampling), enough for its test to see a shift, and flat in memory whatever the traffic.
KEPT_CONFIDENCES = 5000

metadata = MetaData()
classified_batches = Table(
    "classified_batches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("source", String(16), nullable=False),
    Column("name", String(300), nullable=False),
    Column("scenario", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("needs_review", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("text_only", Integer, nullable=False),
    Column("not_classified", Integer, nullable=False),
    Column("unlike", Boolean, nullable=True),  # None: too few listings to check
    Column("review", Text, nullable=False),
    Column("review_batch", String(16), nullable=True),
)
batch_predictions = Table(
    "batch_predictions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record", Integer, ForeignKey("classified_batches.id"), nullable=False, index=True),
    Column("key", String(MAX_ID_CHARS), nullable=False),
    Column("predicted", String(MAX_CATEGORY_CHARS), nullable=True),
)


@dataclass(frozen=True)
class BatchRecord:
    """One classified batch as the history keeps it."""

    when: datetime  # UTC: when it was classified (for the service, the start of its hour)
    source: str  # one of SOURCES
    name: str  # the file's name, or the service's hour
    scenario: str
    rows: int
    accepted: int  # accepted without review
    needs_review: int
    ok: int
    text_only: int
    not_classified: int
    unlike: bool | None  # the batch check's verdict (core.batch_check); None where it could not check
    review: str  # the review cut-off in words
    review_batch: str | None = None  # the review batch its flagged listings were sent to
    id: int | None = None

    @classmethod
    def of_run(cls, source: str, name: str, scenario: str, summary: ClassifySummary, review: str,
               when: datetime | None = None) -> BatchRecord:
        """The record of a batch run that ``summary`` describes, classified now unless ``when`` is given."""
        check = summary.check
        return cls(when or datetime.now(timezone.utc), source, name[:300], scenario, summary.rows,
                   summary.rows - summary.needs_review, summary.needs_review, summary.classified - summary.text_only,
                   summary.text_only, summary.not_classified, check.unlike if check and check.checked else None,
                   review)


class BatchHistory:
    """The classified batches' records in the review database at ``url``."""

    def __init__(self, url: str, create: bool = True):
        """The history at ``url``, its tables made when ``create``; without, a database or tables not made yet
        read as an empty history."""
        self.engine = open_engine(url, create)
        try:
            if create:
                create_tables(self.engine, metadata, "create the batch history")
        except DatabaseError as exc:
            raise self._error("The batch history cannot be opened", exc) from exc

    def record(self, record: BatchRecord) -> int:
        """Keep ``record``; returns its id."""
        values = {k: v for k, v in asdict(record).items() if k not in ("id", "when")}
        try:
            with self.engine.begin() as connection:
                inserted = connection.execute(classified_batches.insert().values(created_at=record.when, **values))
                return int(inserted.inserted_primary_key[0])
        except DatabaseError as exc:
            raise self._error("The batch was not recorded in the history", exc) from exc

    def attach_review(self, record_id: int, review_batch: str, flagged: pd.DataFrame) -> None:
        """Say that record ``record_id``'s flagged listings were sent to review as ``review_batch``, keeping the
        model's category of each (``flagged``: the sent batch's key and predicted columns)."""
        rows = [{"record": record_id, "key": key, "predicted": predicted if isinstance(predicted, str) else None}
                for key, predicted in zip(flagged["key"], flagged["predicted"])]
        try:
            with self.engine.begin() as connection:
                connection.execute(update(classified_batches).where(classified_batches.c.id == record_id)
                                   .values(review_batch=review_batch))
                if rows:
                    connection.execute(batch_predictions.insert(), rows)
        except DatabaseError as exc:
            raise self._error("The batch's review was not recorded in the history", exc) from exc

    def records(self) -> list[BatchRecord]:
        """Every record, newest first."""
        if not self._holds_tables():
            return []
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(select(classified_batches).order_by(classified_batches.c.created_at.desc(),
                                                                              classified_batches.c.id.desc()))
                return [_record(row._mapping) for row in rows]
        except DatabaseError as exc:
            raise self._error("The batch history cannot be read", exc) from exc

    def predictions(self) -> pd.DataFrame:
        """The model's category of every listing sent to review: record, key, predicted."""
        columns = ["record", "key", "predicted"]
        if not self._holds_tables():
            return pd.DataFrame(columns=columns)
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(select(*(batch_predictions.c[c] for c in columns)))
                return pd.DataFrame(rows.fetchall(), columns=columns)
        except DatabaseError as exc:
            raise self._error("The batch history cannot be read", exc) from exc

    def _holds_tables(self) -> bool:
        return holds_tables(self.engine, metadata)

    def _error(self, what: str, exc: DatabaseError) -> ReviewStoreError:
        return store_error(self.engine, what, exc)


def _record(row) -> BatchRecord:
    # SQLite gives the stored UTC time back without its zone.
    when = row["created_at"] if row["created_at"].tzinfo else row["created_at"].replace(tzinfo=timezone.utc)
    return BatchRecord(when, row["source"], row["name"], row["scenario"], row["rows"], row["accepted"],
                       row["needs_review"], row["ok"], row["text_only"], row["not_classified"], row["unlike"],
                       row["review"], row["review_batch"], row["id"])


@dataclass(frozen=True)
class Agreement:
    """How often operators agreed with the model on a batch's flagged listings (an operator's latest answer
    per listing counts once)."""

    answers: int
    share: float  # of ``answers``, those naming the model's category
    per_category: pd.DataFrame  # by the operators' category: answers, doubt_rate, agreement_with_model


def agreements(predictions: pd.DataFrame, answers: pd.DataFrame) -> dict[int, Agreement]:
    """Per record with answers, how often the operators agreed with the model. ``predictions``: the history's
    (record, key, predicted); ``answers``: the review store's answers in force (``ReviewStore.active_frame``)."""
    answered = answers[answers["uniq_id"].isin(set(predictions["key"]))]
    found = {}
    for record, flagged in predictions[predictions["key"].isin(set(answered["uniq_id"]))].groupby("record"):
        per_category = summarise_batch(answered, flagged.assign(product_name="")).per_category
        total = int(per_category["answers"].sum())
        share = float((per_category["agreement_with_model"] * per_category["answers"]).sum() / total)
        found[int(record)] = Agreement(total, share, per_category)
    return found


HISTORY_COLUMNS = ["id", "when", "source", "name", "scenario", "rows", "accepted_share", "review_share", "unlike",
                   "agreement", "answers", "accepted", "needs_review", "ok", "text_only", "not_classified", "review",
                   "review_batch"]


@dataclass(frozen=True)
class HistoryView:
    """The history as the page and the command line show it: one row per batch, newest first, and each
    answered batch's agreement."""

    table: pd.DataFrame  # HISTORY_COLUMNS
    agreements: dict[int, Agreement] = field(default_factory=dict)


def batch_history(url: str) -> HistoryView:
    """The batches recorded in the review database at ``url``, with how often operators agreed with the model
    on those whose flagged listings they answered (nothing is created where nothing was recorded yet)."""
    history = BatchHistory(url, create=False)
    records = history.records()
    found: dict[int, Agreement] = {}
    if any(r.review_batch for r in records):
        try:
            answers = ReviewStore(url, create=False).active_frame()
        except ReviewStoreError:  # no answers yet
            answers = pd.DataFrame(columns=["id", "operator", "uniq_id", "label", "in_doubt"])
        found = agreements(history.predictions(), answers)
    table = pd.DataFrame([_row(r, found.get(r.id)) for r in records], columns=HISTORY_COLUMNS)
    return HistoryView(table, found)


def _row(record: BatchRecord, agreement: Agreement | None) -> dict:
    rows = record.rows or np.nan  # an empty batch has no shares
    return {**asdict(record), "accepted_share": record.accepted / rows, "review_share": record.needs_review / rows,
            "agreement": agreement.share if agreement else np.nan, "answers": agreement.answers if agreement else 0}


class PeriodTally:
    """Listings classified one request at a time (the service), counted in memory per ``PERIOD`` of UTC time:
    ``add`` is a few additions under a lock; once a period is over, its record is handed to ``write``."""

    def __init__(self, scenario: str, review: str, reference: BatchReference, write: Callable[[BatchRecord], None],
                 period: timedelta = PERIOD, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.scenario, self.review, self.reference, self.write = scenario, review, reference, write
        self.period, self.clock = period, clock
        self._lock = threading.Lock()
        self._start: datetime | None = None
        self._counts: dict[str, int] = {}
        self._confidences: list[float] = []
        self._seen = 0  # confidences offered to the sample this period

    def add(self, listings: Iterable) -> None:
        """Count classified listings (each with ``status``, ``needs_review`` and ``confidence``, as
        ``Classified``); the first of a new period closes the last one."""
        now = self.clock()
        with self._lock:
            closed = self._close() if self._start is not None and now >= self._start + self.period else None
            if self._start is None:
                self._start = _period_start(now, self.period)
            counts = self._counts
            for listing in listings:
                status = listing.status
                kind = "text_only" if status.startswith(TEXT_ONLY) else \
                    "not_classified" if status.startswith(NOT_CLASSIFIED) else "ok"
                counts[kind] = counts.get(kind, 0) + 1
                counts["needs_review"] = counts.get("needs_review", 0) + bool(listing.needs_review)
                if listing.confidence is not None:
                    self._sample(listing.confidence)
        if closed is not None:
            self.write(closed)

    def close(self) -> None:
        """Hand the period under way to ``write`` (at shutdown)."""
        with self._lock:
            closed = self._close()
        if closed is not None:
            self.write(closed)

    def _sample(self, confidence: float) -> None:
        self._seen += 1
        if len(self._confidences) < KEPT_CONFIDENCES:
            self._confidences.append(confidence)
        elif (slot := random.randrange(self._seen)) < KEPT_CONFIDENCES:
            self._confidences[slot] = confidence

    def _close(self) -> BatchRecord | None:
        """The period's record (None when nothing was classified in it), the tally emptied."""
        start, counts, confidences = self._start, self._counts, self._confidences
        self._start, self._counts, self._confidences, self._seen = None, {}, [], 0
        if start is None or not counts:
            return None
        ok, text_only, not_classified = (counts.get(k, 0) for k in ("ok", "text_only", "not_classified"))
        rows, needs_review = ok + text_only + not_classified, counts.get("needs_review", 0)
        check = check_batch(self.reference, np.array(confidences))
        end = start + self.period
        return BatchRecord(start, "service", f"service, {start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC", self.scenario, rows,
                           rows - needs_review, needs_review, ok, text_only, not_classified,
                           check.unlike if check.checked else None, self.review)


def _period_start(now: datetime, period: timedelta) -> datetime:
    """The start of the period ``now`` falls in, periods counted from midnight UTC."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((now - midnight) // period) * period

