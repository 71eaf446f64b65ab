"""What a lead sets for a review queue: which operator answers which of its products (assignments), and the
queue's guidelines (what each category covers, the tricky pairs).

Kept in the review database beside the answers (the same URL, engine and locks as
``core.review.answer_store``), append-only like them: the latest assignment of a product in a queue, and the
latest guidelines of a queue, are the ones in force; the earlier ones stay as history.

Who is a lead: the operator names in ``$VITRINE_REVIEW_LEADS`` (comma-separated, read by the review page);
while it is unset or empty, every operator is one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, select
from sqlalchemy.exc import DatabaseError

from core.errors import ReviewStoreError
from core.review.answer_store import (
    MAX_ID_CHARS,
    MAX_OPERATOR_CHARS,
    checked_operator,
    create_tables,
    open_engine,
    store_error,
)

LEADS_ENV = "VITRINE_REVIEW_LEADS"
MAX_QUEUE_CHARS = 400  # a queue's title: a batch's names its file, which may be long
MAX_GUIDELINES_CHARS = 20_000
# The parts of a queue (as the list shows it) a lead can hand to an operator.
ALL, FIRST_HALF, SECOND_HALF, FIRST_COUNT = "all of them", "the first half", "the second half", "the first ..."
SHARES = (ALL, FIRST_HALF, SECOND_HALF, FIRST_COUNT)

metadata = MetaData()
assignments = Table(
    "assignments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(MAX_QUEUE_CHARS), nullable=False, index=True),
    Column("uniq_id", String(MAX_ID_CHARS), nullable=False),
    Column("operator", String(MAX_OPERATOR_CHARS), nullable=False),  # "": taken off whoever had it
    Column("assigned_by", String(MAX_OPERATOR_CHARS), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
guidelines = Table(
    "guidelines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(MAX_QUEUE_CHARS), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("written_by", String(MAX_OPERATOR_CHARS), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Guidelines:
    """A queue's guidelines in force: the text, who wrote it, when (UTC)."""

    text: str
    written_by: str
    created_at: datetime


def is_lead(operator: str, leads: str | None) -> bool:
    """Whether ``operator`` may assign and write guidelines: named in ``leads`` (the comma-separated names of
    ``$VITRINE_REVIEW_LEADS``, compared without case), or anyone while ``leads`` names nobody."""
    named = {name.strip().casefold() for name in (leads or "").split(",") if name.strip()}
    return not named or operator.strip().casefold() in named


def share_of(uniq_ids: Sequence[str], part: str, count: int = 0) -> list[str]:
    """The products of ``uniq_ids`` (in the order listed) that ``part`` (one of ``SHARES``) names: all, the
    first half (the larger one when the number is odd), the second half, or the first ``count``."""
    ids = list(uniq_ids)
    half = (len(ids) + 1) // 2
    if part == FIRST_HALF:
        return ids[:half]
    if part == SECOND_HALF:
        return ids[half:]
    if part == FIRST_COUNT:
        return ids[:max(count, 0)]
    return ids


class LeadStore:
    """Assignments and guidelines in the review database at ``url``."""

    def __init__(self, url: str):
        self.engine = open_engine(url)
        try:
            create_tables(self.engine, metadata, "create the lead tables")
        except DatabaseError as exc:
            raise self._error("The assignments cannot be opened", exc) from exc

    def assign(self, queue: str, uniq_ids: Sequence[str], operator: str, by: str) -> int:
        """Give the products ``uniq_ids`` of ``queue`` to ``operator`` (or, with ``operator`` empty, to nobody
        any more), as ``by`` decided; how many."""
        operator = checked_operator(operator) if operator.strip() else ""
        by, queue = checked_operator(by), queue[:MAX_QUEUE_CHARS]
        now = datetime.now(timezone.utc)
        rows = [dict(queue=queue, uniq_id=uniq_id, operator=operator, assigned_by=by, created_at=now)
                for uniq_id in uniq_ids]
        if not rows:
            return 0
        try:
            with self.engine.begin() as connection:
                connection.execute(assignments.insert(), rows)
        except DatabaseError as exc:
            raise self._error("The products were not assigned", exc, retry=True) from exc
        return len(rows)

    def assigned(self, queue: str) -> dict[str, str]:
        """The operator each product of ``queue`` is assigned to (the latest assignment counts), by uniq_id;
        products assigned to nobody are left out."""
        query = (select(assignments.c.uniq_id, assignments.c.operator)
                 .where(assignments.c.queue == queue[:MAX_QUEUE_CHARS]).order_by(assignments.c.id))
        try:
            with self.engine.connect() as connection:
                latest = dict(connection.execute(query).tuples().all())
        except DatabaseError as exc:
            raise self._error("The assignments cannot be read", exc) from exc
        return {uniq_id: operator for uniq_id, operator in latest.items() if operator}

    def save_guidelines(self, queue: str, text: str, by: str) -> None:
        """Keep ``text`` as ``queue``'s guidelines, written by ``by``."""
        by = checked_operator(by)
        if len(text) > MAX_GUIDELINES_CHARS:
            raise ReviewStoreError(f"The guidelines have {len(text):,} characters; at most {MAX_GUIDELINES_CHARS:,} "
                                   "are kept. Please shorten them.")
        if "\x00" in text:
            raise ReviewStoreError("The guidelines hold a NUL character (\\x00), which the review database cannot "
                                   "keep; please remove it.")
        try:
            with self.engine.begin() as connection:
                connection.execute(guidelines.insert().values(queue=queue[:MAX_QUEUE_CHARS], text=text,
                                                              written_by=by, created_at=datetime.now(timezone.utc)))
        except DatabaseError as exc:
            raise self._error("The guidelines were not saved", exc, retry=True) from exc

    def guidelines(self, queue: str) -> Guidelines | None:
        """``queue``'s guidelines in force; None while nobody wrote any."""
        query = (select(guidelines).where(guidelines.c.queue == queue[:MAX_QUEUE_CHARS])
                 .order_by(guidelines.c.id.desc()).limit(1))
        try:
            with self.engine.connect() as connection:
                row = connection.execute(query).first()
        except DatabaseError as exc:
            raise self._error("The guidelines cannot be read", exc) from exc
        if row is None:
            return None
        # SQLite gives the stored UTC time back without its zone.
        when = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
        return Guidelines(row.text, row.written_by, when)

    def _error(self, what: str, exc: DatabaseError, retry: bool = False) -> ReviewStoreError:
        return store_error(self.engine, what, exc, retry)
