"""A review queue as one table: every product with the model's answer, the operators' answers in force and
who the product is assigned to, to filter, sort and pick from; and one product's answer history."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import pandas as pd

QUEUE_COLUMNS = ["uniq_id", "product_name", "predicted", "confidence", "true", "answered", "answered_by", "latest",
                 "in_doubt", "answers", "assigned_to"]
# How the list can be sorted: the queue's own order (the one-at-a-time view's), or a column.
QUEUE_ORDER = "queue order"
SORTS = {QUEUE_ORDER: None, "confidence, highest first": ("confidence", False),
         "confidence, lowest first": ("confidence", True), "product name": ("product_name", True)}


def queue_table(items: pd.DataFrame, answers: pd.DataFrame, assigned: Mapping[str, str] | None = None
                ) -> pd.DataFrame:
    """One row per product of the queue ``items`` (uniq_id, product_name, true, predicted, confidence), in queue
    order, with its answers in force (``answers``: id, operator, uniq_id, label, in_doubt): whether it has any,
    by whom (names sorted, comma-separated), the latest one's category, whether any was given in doubt, how
    many; and the operator it is assigned to (``assigned``: by uniq_id; "" for none)."""
    mine = answers[answers["uniq_id"].isin(set(items["uniq_id"]))].sort_values("id")
    grouped = mine.groupby("uniq_id")
    by = grouped["operator"].agg(lambda names: ", ".join(sorted(set(names))))
    latest = grouped["label"].last()
    doubt = grouped["in_doubt"].agg(lambda doubts: bool(doubts.astype(bool).any()))
    count = grouped.size()
    ids = items["uniq_id"]
    table = items.reset_index(drop=True).assign(
        answered=ids.isin(count.index).to_numpy(), answered_by=ids.map(by).fillna("").to_numpy(),
        latest=ids.map(latest).to_numpy(), in_doubt=ids.map(doubt).fillna(False).astype(bool).to_numpy(),
        answers=ids.map(count).fillna(0).astype(int).to_numpy(),
        assigned_to=ids.map(dict(assigned or {})).fillna("").to_numpy())
    return table[QUEUE_COLUMNS]


@dataclass(frozen=True)
class QueueFilter:
    """What the list shows: each set given keeps the products whose value is in it (an empty one keeps
    all); ``answered`` and ``in_doubt`` keep one side when set; ``operator`` keeps the products that
    operator answered or is assigned; ``sort`` is one of ``SORTS``."""

    categories: Collection[str] = ()  # the data set's category
    model_answers: Collection[str] = ()
    answered: bool | None = None
    in_doubt: bool | None = None
    operator: str = ""
    sort: str = QUEUE_ORDER


def shown_queue(table: pd.DataFrame, chosen: QueueFilter) -> pd.DataFrame:
    """The rows of ``queue_table``'s ``table`` that ``chosen`` keeps, in its order (ties in queue order)."""
    keep = pd.Series(True, index=table.index)
    if chosen.categories:
        keep &= table["true"].isin(set(chosen.categories))
    if chosen.model_answers:
        keep &= table["predicted"].isin(set(chosen.model_answers))
    if chosen.answered is not None:
        keep &= table["answered"] == chosen.answered
    if chosen.in_doubt is not None:
        keep &= table["in_doubt"] == chosen.in_doubt
    if chosen.operator:
        answered_by = table["answered_by"].map(lambda names: chosen.operator in names.split(", "))
        keep &= answered_by | (table["assigned_to"] == chosen.operator)
    shown = table[keep]
    if (order := SORTS[chosen.sort]) is not None:
        column, ascending = order
        key = (lambda names: names.str.casefold()) if column == "product_name" else None
        shown = shown.sort_values(column, ascending=ascending, kind="stable", na_position="last", key=key)
    return shown.reset_index(drop=True)


def answer_history(history: pd.DataFrame, uniq_id: str) -> pd.DataFrame:
    """Every answer ever saved for ``uniq_id``, newest first, from the store's ``history`` (undo rows
    included there): created_at, operator, category, in_doubt, comment, and ``undone`` (cancelled since by
    its operator's undo)."""
    undone = set(history["undoes"].dropna().astype(int))
    rows = history[(history["uniq_id"] == uniq_id) & history["undoes"].isna()].sort_values("id", ascending=False)
    return pd.DataFrame({"created_at": rows["created_at"], "operator": rows["operator"], "category": rows["label"],
                         "in_doubt": rows["in_doubt"].astype(bool), "comment": rows["comment"],
                         "undone": rows["id"].isin(undone)}).reset_index(drop=True)
