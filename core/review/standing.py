"""Where one operator stands in a review queue: what is answered, what is left to show."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

# The answers a pace is measured over: recent enough to be today's rhythm, not yesterday's.
PACE_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class OperatorQueue:
    """One operator's view of a queue (one row per product, in the order to review them)."""

    total: int
    answered: int  # products of the queue with an answer of this operator in force
    # The queue's rows still to show: neither answered nor skipped; the operator's share first, then the
    # products assigned to nobody, then the others' shares, each in queue order.
    pending: pd.DataFrame
    share_left: int = 0  # of ``pending``, those assigned to this operator

    @property
    def left(self) -> int:
        """Products still to show: neither answered nor skipped."""
        return len(self.pending)

    @property
    def next_item(self) -> pd.Series | None:
        """The product to show next, or None when nothing is left."""
        return None if self.pending.empty else self.pending.iloc[0]


def operator_queue(queue: pd.DataFrame, answers: pd.DataFrame, operator: str,
                   skipped: Collection[str] = (), assigned: Mapping[str, str] | None = None) -> OperatorQueue:
    """``queue`` (a ``uniq_id`` column) seen by ``operator``, given the answers in force (``operator``,
    ``uniq_id``), the products the operator skipped and who each product is assigned to (``assigned``,
    by uniq_id): their own share comes first."""
    mine = set(answers.loc[answers["operator"] == operator, "uniq_id"])
    in_queue = set(queue["uniq_id"])
    pending = queue[~queue["uniq_id"].isin(mine | set(skipped))]
    owner = pending["uniq_id"].map(dict(assigned or {})).fillna("")
    # 0: the operator's own share, 1: nobody's, 2: another operator's; a stable sort keeps the queue order.
    rank = (owner != operator).astype(int) + (owner != "").astype(int) * (owner != operator).astype(int)
    pending = pending.iloc[rank.to_numpy().argsort(kind="stable")].reset_index(drop=True)
    return OperatorQueue(total=len(queue), answered=len(mine & in_queue), pending=pending,
                         share_left=int((owner == operator).sum()))


@dataclass(frozen=True)
class Pace:
    """How fast an operator answers, and how long what is left would take at that speed."""

    per_minute: float
    minutes_left: float


def operator_pace(answers: pd.DataFrame, operator: str, left: int, now: datetime) -> Pace | None:
    """``operator``'s pace over their answers in force of the last ``PACE_WINDOW`` (``created_at``, UTC)
    and the minutes ``left`` products would take; None until three answers give a pace."""
    times = pd.to_datetime(answers.loc[answers["operator"] == operator, "created_at"], utc=True)
    recent = times[times >= pd.Timestamp(now) - PACE_WINDOW].sort_values()
    minutes = (recent.iloc[-1] - recent.iloc[0]).total_seconds() / 60 if len(recent) >= 3 else 0
    if minutes <= 0:
        return None
    per_minute = (len(recent) - 1) / minutes
    return Pace(per_minute, left / per_minute)
