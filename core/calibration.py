"""The review cut-off of a scenario: below which confidence a prediction goes to an operator.

It is never invented: it is the lowest confidence at which the scenario's own held-out (out-of-fold)
predictions reach the target precision, so that what is accepted without review is right at least
that often on listings the model did not learn from.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_PRECISION = 0.99


@dataclass(frozen=True)
class ReviewThreshold:
    """A target precision and the cut-off its held-out predictions gave (None: no confidence level
    reached the target, so every prediction needs review)."""

    target_precision: float
    cutoff: float | None
    held_out: int  # how many held-out predictions it was chosen on

    def needs_review(self, confidence: np.ndarray) -> np.ndarray:
        """True where a prediction of this confidence goes to an operator."""
        confidence = np.asarray(confidence, dtype=float)
        if self.cutoff is None:
            return np.ones(confidence.shape, bool)
        return ~(confidence >= self.cutoff)  # NaN (nothing classified) needs review too


@dataclass(frozen=True)
class Coverage:
    """What a threshold does on labelled listings: the share it accepts without review, and how often
    those accepted were right (None when it accepts none)."""

    listings: int
    accepted: int
    precision: float | None

    @property
    def share(self) -> float:
        return self.accepted / self.listings if self.listings else 0.0


def review_threshold(confidence: np.ndarray, correct: np.ndarray,
                     target_precision: float = DEFAULT_PRECISION) -> ReviewThreshold:
    """The lowest confidence ``c`` such that the held-out predictions with confidence >= ``c`` are right
    at least ``target_precision`` of the time (ties in confidence are accepted or refused together)."""
    if not 0 < target_precision <= 1:
        raise ValueError(f"the target precision must be in (0, 1]; got {target_precision}")
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    order = np.argsort(-confidence, kind="stable")
    ranked, right = confidence[order], correct[order]
    precision = np.cumsum(right) / np.arange(1, len(right) + 1)
    # Only the last position of each run of equal confidences is a possible cut.
    ends = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True)) if len(ranked) else np.array([], int)
    reached = ends[precision[ends] >= target_precision - 1e-12]
    cutoff = float(ranked[reached.max()]) if len(reached) else None
    return ReviewThreshold(target_precision, cutoff, len(confidence))


def coverage(threshold: ReviewThreshold, confidence: np.ndarray, correct: np.ndarray) -> Coverage:
    """How ``threshold`` does on labelled predictions (the test split)."""
    accepted = ~threshold.needs_review(confidence)
    right = np.asarray(correct, dtype=bool)[accepted]
    return Coverage(len(accepted), int(accepted.sum()), float(right.mean()) if len(right) else None)
