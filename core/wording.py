"""The product's own words for what it did, in one place: how a message becomes a clause inside a status or
a sentence of its own, and the review cut-off in words. Plain text only: Markdown is made at the UI edge
(``core.escaping``)."""
from __future__ import annotations

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
