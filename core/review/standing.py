"""Where one operator stands in a review queue: what is answered, what is left to show."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class OperatorQueue:
    """One operator's view of a queue (one row per product, in the order to review them)."""

    total: int
    answered: int  # products of the queue with an answer of this operator in force
    pending: pd.DataFrame  # the queue's rows still to show: neither answered nor skipped, in queue order

    @property
    def next_item(self) -> pd.Series | None:
        """The product to show next, or None when nothing is left."""
        return None if self.pending.empty else self.pending.iloc[0]


def operator_queue(queue: pd.DataFrame, answers: pd.DataFrame, operator: str,
                   skipped: Collection[str] = ()) -> OperatorQueue:
    """``queue`` (a ``uniq_id`` column) seen by ``operator``, given the answers in force (``operator``,
    ``uniq_id``) and the products the operator skipped."""
    mine = set(answers.loc[answers["operator"] == operator, "uniq_id"])
    in_queue = set(queue["uniq_id"])
    pending = queue[~queue["uniq_id"].isin(mine | set(skipped))].reset_index(drop=True)
    return OperatorQueue(total=len(queue), answered=len(mine & in_queue), pending=pending)
