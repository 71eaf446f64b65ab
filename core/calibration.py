"""The review cut-off of a scenario: below which confidence a prediction goes to an operator, chosen so
that what is accepted without review keeps a target precision on new listings, with a stated
probability.

The cut-off comes from Learn-then-Test (Angelopoulos, Bates, Candès, Jordan and Lei, "Learn then Test:
calibrating predictive algorithms to achieve risk control", 2022), as MAPIE's
``BinaryClassificationController`` implements it for a precision target: each candidate cut-off is a
hypothesis "the precision above it is below the target", tested on the scenario's held-out (out-of-fold)
predictions with the binomial (Bentkus) p-value, and the candidates are tested in a fixed sequence,
stopping at the first that cannot be rejected (fixed-sequence testing keeps the family-wise error at
``1 - confidence_level`` without dividing it among the candidates). With probability at least
``confidence_level`` over the held-out predictions, the precision of what the cut-off accepts on new
listings like them is at least the target.

The sequence's direction is MAPIE's choice, made from the observed risk: most demanding cut-off first
when the observed error falls steadily as the cut-off rises (the usual case), otherwise by its average
trend (MAPIE then warns; the warning is not shown). An order read from the same data is outside the
fixed-sequence proof; the 300-draw test in tests/test_calibration.py measures that the promise is still
missed at most ``1 - confidence_level`` of the time.

Candidates that accept too few held-out predictions to ever pass the test (``min_accepted``: even with
no error among them the p-value stays above ``1 - confidence_level``) are left out of the sequence.
Which they are depends on the confidences alone, never on whether the predictions were right.

Per category (Mondrian): the same procedure run on the held-out predictions of each predicted category
gives each category its own cut-off, and the same guarantee for each category's precision.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from mapie.risk_control import BinaryClassificationController
from scipy.stats import binomtest

DEFAULT_PRECISION = 0.99
DEFAULT_CONFIDENCE = 0.9
# The largest number of candidate cut-offs tested: every distinct held-out confidence up to this many,
# evenly spaced quantiles beyond (the test's cost grows with candidates x held-out predictions).
MAX_CANDIDATES = 2000
SCOPES = ("auto", "global", "per-category")


@dataclass(frozen=True)
class Promise:
    """What the marketplace is promised of the listings accepted without review: at least
    ``target_precision`` of them right, with probability ``confidence_level``, from one cut-off or one per
    category (``scope``); with ``review_unlike`` a batch unlike the calibration data goes to review whole."""

    target_precision: float = DEFAULT_PRECISION
    confidence_level: float = DEFAULT_CONFIDENCE
    scope: str = "auto"
    review_unlike: bool = False

    def __post_init__(self):
        _check_levels(self.target_precision, self.confidence_level)
        if self.scope not in SCOPES:
            raise ValueError(f"the scope must be one of {', '.join(SCOPES)}; got {self.scope!r}")


@dataclass(frozen=True)
class ReviewThreshold:
    """A target precision, the confidence level of its guarantee, and the cut-off(s) the held-out
    predictions gave: one for every listing, or one per predicted category (``per_category``). A cut-off
    of None means no confidence level could be shown to reach the target, so every such prediction
    needs review."""

    target_precision: float
    cutoff: float | None
    held_out: int  # how many held-out predictions it was chosen on
    confidence_level: float = DEFAULT_CONFIDENCE
    per_category: Mapping[str, float | None] | None = None
    # How the scope was chosen, in words, when "auto" chose it.
    scope_reason: str = ""
    held_out_per_category: Mapping[str, int] = field(default_factory=dict)

    @property
    def delta(self) -> float:
        """The chance the guarantee allows that the target is missed."""
        return 1 - self.confidence_level

    @property
    def scope(self) -> str:
        return "per-category" if self.per_category is not None else "global"

    def cutoff_for(self, category: str | None) -> float | None:
        """The cut-off a prediction of ``category`` must reach."""
        if self.per_category is None:
            return self.cutoff
        return self.per_category.get(category) if category is not None else None

    def needs_review(self, confidence: np.ndarray, predicted: np.ndarray | None = None) -> np.ndarray:
        """True where a prediction of this confidence (and, per category, of this predicted category)
        goes to an operator."""
        confidence = np.asarray(confidence, dtype=float)
        if self.per_category is None:
            cutoffs = np.full(confidence.shape, np.nan if self.cutoff is None else self.cutoff)
        else:
            if predicted is None:
                raise ValueError("per-category cut-offs need the predicted categories")
            cutoffs = np.array([np.nan if (c := self.cutoff_for(p)) is None else c for p in predicted], dtype=float)
        return ~(confidence >= cutoffs)  # NaN (nothing classified, or no cut-off) needs review

    def accepts_any(self) -> bool:
        """Whether any prediction can be accepted without review."""
        if self.per_category is None:
            return self.cutoff is not None
        return any(c is not None for c in self.per_category.values())


@dataclass(frozen=True)
class Coverage:
    """What a threshold does on labelled listings it was not chosen on: the share it accepts without
    review, and how often those accepted were right (None when it accepts none)."""

    listings: int
    accepted: int
    precision: float | None
    right: int = 0

    @property
    def share(self) -> float:
        return self.accepted / self.listings if self.listings else 0.0

    def interval(self, level: float = 0.95) -> tuple[float, float] | None:
        """The exact (Clopper-Pearson) binomial confidence interval of the precision; None when nothing
        was accepted."""
        if not self.accepted:
            return None
        found = binomtest(self.right, self.accepted).proportion_ci(level, method="exact")
        return float(found.low), float(found.high)

    def verdict(self, target: float, level: float = 0.95) -> str:
        """Whether the promise held on these listings: "held" (precision at or above the target), "not
        held" (the whole interval below it) or "below, within chance" (below, but the interval reaches
        it); "nothing accepted" when there is nothing to judge."""
        if self.precision is None:
            return "nothing accepted"
        if self.precision >= target:
            return "held"
        return "not held" if self.interval(level)[1] < target else "below, within chance"


def min_accepted(target_precision: float, confidence_level: float) -> int | None:
    """The fewest held-out predictions a cut-off must accept for the test to be able to pass it: below
    this, even with no error the binomial p-value stays above ``1 - confidence_level``. None when no
    number suffices (a target of 100 %)."""
    error = 1 - target_precision
    if error <= 0:
        return None
    return max(1, math.ceil(math.log(1 - confidence_level) / math.log1p(-error)))


def guaranteed_cutoff(confidence: np.ndarray, correct: np.ndarray, target_precision: float = DEFAULT_PRECISION,
                      confidence_level: float = DEFAULT_CONFIDENCE) -> float | None:
    """The lowest cut-off that Learn-then-Test (fixed-sequence testing over the held-out confidences, in the
    order MAPIE reads from the observed risk: see the module's docstring) shows keeps precision >=
    ``target_precision`` with probability at least
    ``confidence_level``; None when none can be shown."""
    _check_levels(target_precision, confidence_level)
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    known = ~np.isnan(confidence)
    confidence, correct = confidence[known], correct[known]
    candidates = _candidates(confidence, min_accepted(target_precision, confidence_level))
    if not len(candidates):
        return None
    controller = BinaryClassificationController(
        predict_function=_as_binary_proba, risk="precision", target_level=target_precision,
        confidence_level=confidence_level, list_predict_params=candidates, fwer_method="fixed_sequence")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no cut-off found" is an answer here, said by None
        controller.calibrate(confidence[:, None], correct.astype(int))
    best = controller.best_predict_param
    return None if best is None or np.isnan(best) else float(best)


def _as_binary_proba(confidence: np.ndarray) -> np.ndarray:
    """The confidence as a binary classifier's ``predict_proba`` (positive: the prediction is right), the
    form MAPIE's controller thresholds."""
    return np.column_stack([1 - confidence[:, 0], confidence[:, 0]])


def _candidates(confidence: np.ndarray, fewest: int | None) -> np.ndarray:
    """The cut-offs to test, most demanding first: the distinct held-out confidences that accept at least
    ``fewest`` held-out predictions."""
    if fewest is None or len(confidence) < fewest:
        return np.array([])
    ranked = np.sort(confidence)[::-1]
    levels = np.unique(ranked[fewest - 1:])[::-1]
    if len(levels) > MAX_CANDIDATES:
        levels = np.unique(np.quantile(levels, np.linspace(0, 1, MAX_CANDIDATES)))[::-1]
    return levels


def review_threshold(confidence: np.ndarray, correct: np.ndarray, target_precision: float = DEFAULT_PRECISION,
                     confidence_level: float = DEFAULT_CONFIDENCE, predicted: np.ndarray | None = None,
                     scope: str = "auto") -> ReviewThreshold:
    """The review cut-off the held-out predictions give: one for all (``scope`` "global"), one per
    predicted category ("per-category", which needs ``predicted``), or ("auto") whichever accepts more of
    the held-out predictions.

    "auto" looks at the outcomes only when both can accept something: where no category has enough
    held-out predictions for its own cut-off (``min_accepted``, known from the confidences alone), it is
    the global cut-off at the full confidence level; otherwise both are chosen at half the chance of a
    miss (a union bound), so that picking the better one keeps the stated guarantee."""
    if scope not in SCOPES:
        raise ValueError(f"the scope must be one of {', '.join(SCOPES)}; got {scope!r}")
    _check_levels(target_precision, confidence_level)
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    if scope != "global" and predicted is None:
        if scope == "per-category":
            raise ValueError("per-category cut-offs need the held-out predicted categories")
        scope = "global"
    if scope == "global":
        return _global(confidence, correct, target_precision, confidence_level)
    predicted = np.asarray(predicted, dtype=object)
    if scope == "per-category":
        return _per_category(confidence, correct, predicted, target_precision, confidence_level)
    fewest = min_accepted(target_precision, confidence_level)
    counts = {str(c): int((predicted == c).sum()) for c in np.unique(predicted[~np.isnan(confidence)])}
    if fewest is None or max(counts.values(), default=0) < fewest:
        return _global(confidence, correct, target_precision, confidence_level,
                       f"one cut-off for all: no category has the {fewest or 'needed'} held-out predictions its "
                       "own cut-off would need")
    halved = 1 - (1 - confidence_level) / 2
    overall = _global(confidence, correct, target_precision, halved)
    each = _per_category(confidence, correct, predicted, target_precision, halved)
    shares = {t.scope: float((~t.needs_review(confidence, predicted)).mean()) for t in (overall, each)}
    chosen = each if shares["per-category"] > shares["global"] else overall
    reason = (f"{'a cut-off per category' if chosen is each else 'one cut-off for all'}: it accepts "
              f"{shares[chosen.scope]:.0%} of the held-out predictions, against {shares[_other(chosen.scope)]:.0%}; "
              "each was chosen at half the chance of a miss, so the choice keeps the guarantee")
    return ReviewThreshold(target_precision, chosen.cutoff, chosen.held_out, confidence_level,
                           chosen.per_category, reason, chosen.held_out_per_category)


def _other(scope: str) -> str:
    return "global" if scope == "per-category" else "per-category"


def _global(confidence, correct, target, level, reason: str = "") -> ReviewThreshold:
    cutoff = guaranteed_cutoff(confidence, correct, target, level)
    return ReviewThreshold(target, cutoff, int((~np.isnan(confidence)).sum()), level, scope_reason=reason)


def _per_category(confidence, correct, predicted, target, level) -> ReviewThreshold:
    cutoffs, counts = {}, {}
    for category in np.unique(predicted[~np.isnan(confidence)]):
        mine = predicted == category
        cutoffs[str(category)] = guaranteed_cutoff(confidence[mine], correct[mine], target, level)
        counts[str(category)] = int(mine.sum())
    return ReviewThreshold(target, None, int((~np.isnan(confidence)).sum()), level, cutoffs,
                           held_out_per_category=counts)


def _check_levels(target_precision: float, confidence_level: float) -> None:
    if not 0 < target_precision <= 1:
        raise ValueError(f"the target precision must be in (0, 1]; got {target_precision}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"the confidence level must be in (0, 1); got {confidence_level}")


def coverage(threshold: ReviewThreshold, confidence: np.ndarray, correct: np.ndarray,
             predicted: np.ndarray | None = None) -> Coverage:
    """How ``threshold`` does on labelled predictions it was not chosen on (the test split)."""
    accepted = ~threshold.needs_review(confidence, predicted)
    right = np.asarray(correct, dtype=bool)[accepted]
    return Coverage(len(accepted), int(accepted.sum()), float(right.mean()) if len(right) else None,
                    int(right.sum()))
