"""The product's own words for what it did, in one place: how a message becomes a clause inside a status or
a sentence of its own, and the review cut-off in words. Plain text only: Markdown is made at the UI edge
(``core.escaping``)."""
from __future__ import annotations

import math

import numpy as np

from core.calibration import ReviewThreshold


def clause(message: str) -> str:
    """A message written as sentences, to go inside a status: no capital first, no full stop."""
    return (message[:1].lower() + message[1:] if message[1:2].islower() else message).rstrip(".")


def sentence(text: str) -> str:
    """A clause (a summary line, a status) to stand on its own: a capital first, a full stop last."""
    return text[:1].upper() + text[1:] + "."


def review_line(result, threshold: ReviewThreshold) -> str:
    """The review cut-off a scenario's held-out predictions gave, and what it does on the test split."""
    target = f"{threshold.target_precision:.1%}".replace(".0%", "%")
    if threshold.cutoff is None:
        return (f"no confidence level of its {threshold.held_out} held-out predictions reached {target} precision, "
                "so every listing needs review")
    measured = result.test_coverage(threshold)
    right = "" if measured.precision is None else f", {measured.precision:.1%} of them right"
    return (f"review below {threshold.cutoff:.1%} confidence (where its held-out predictions reach {target} "
            f"precision); on the test split that accepts {measured.share:.0%} without review ({measured.accepted} "
            f"of {measured.listings}{right})")


def review_columns(result) -> dict[str, str]:
    """The review cut-off a scenario's held-out predictions give, and what it lets through on the test split,
    as two short table cells."""
    threshold = result.review_threshold()
    if threshold.cutoff is None:
        return {"Review below": f"all (no level reached {threshold.target_precision:.0%})",
                "Auto-accepted (test)": "0%"}
    measured = result.test_coverage(threshold)
    precision = "" if measured.precision is None else f", {measured.precision:.1%} right"
    return {"Review below": f"{threshold.cutoff:.1%} confidence",
            "Auto-accepted (test)": f"{measured.share:.0%} ({measured.accepted} of {measured.listings}{precision})"}


def listing_fate(scenario: str, threshold: ReviewThreshold, confidence: float) -> str:
    """What the daily job would do with one listing of this confidence: accept it, or send it to an operator."""
    if threshold.cutoff is None:
        return (f"In a batch, {scenario} sends every listing to an operator: none of its confidence levels reached "
                "the target precision.")
    if threshold.needs_review(np.array([confidence]))[0]:
        return (f"Below {scenario}'s review cut-off ({threshold.cutoff:.1%}): in a batch this listing would go to an "
                "operator.")
    return (f"At or above {scenario}'s review cut-off ({threshold.cutoff:.1%}): in a batch this listing would be "
            "accepted without review.")


def progress_text(standing, pace) -> str:
    """What is done and left in the queue, with the operator's pace once it is known."""
    text = f"{standing.answered} of {standing.total} products of this queue answered by you · {standing.left} left"
    if pace is not None:
        text += f" · your pace {pace.per_minute:.1f} a minute"
        text += f", about {math.ceil(pace.minutes_left)} min to go" if standing.left else ""
    return text
