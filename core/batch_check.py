"""Whether a batch looks like the listings the review cut-off was calibrated on.

The cut-off's guarantee (``core.calibration``) holds for new listings exchangeable with the held-out ones
it was chosen on. A batch that is not (another market, a broken export, texts in another language) can
break it silently, so each batch is compared with them on what the daily job sees:

- the model's confidence: one-sided two-sample Kolmogorov-Smirnov test (SciPy's ``ks_2samp``), the batch's
  confidences against the stored classifier's on the test split, the listings it did not learn from (the
  cross-validation models behind the cut-off's held-out confidences are not the stored classifier, and
  their confidences spread differently). Only a batch *less* sure than those counts.
- for scenarios that read text, the share of each listing's words the training listings never used
  (out-of-vocabulary), against the same share for each test listing; one-sided again: only a batch with
  *more* unknown words counts.

The batch is called unlike when either test rejects at ``ALPHA`` split between them (Bonferroni). The
false-alarm rate on batches drawn from the reference data and the detection rate on shuffled and foreign
texts are measured by ``benchmarks/acceptance.py`` and given in docs/acceptance.md.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import ks_2samp

from core.text import TFIDF_TOKEN_PATTERN

ALPHA = 0.01
# Fewer classified listings than this are not checked: the tests could not see a change.
MIN_LISTINGS = 30
_WORD = re.compile(TFIDF_TOKEN_PATTERN)


def words_of(text: str) -> list[str]:
    """The words a listing's text is judged on: what tfidf counts, lower-cased."""
    return [w.lower() for w in _WORD.findall(text or "")]


def unknown_share(text: str, vocabulary: frozenset[str]) -> float:
    """The share of the text's words the vocabulary lacks; NaN for a text without words."""
    words = words_of(text)
    return sum(w not in vocabulary for w in words) / len(words) if words else float("nan")


@dataclass(frozen=True)
class BatchReference:
    """What batches are compared with: the stored classifier's confidences on the test split (listings it
    did not learn from, as a batch's are) and, for a scenario that reads text, the training vocabulary and
    each test listing's unknown-word share."""

    confidences: np.ndarray
    vocabulary: frozenset[str] | None = None
    unknown_shares: np.ndarray | None = None

    @classmethod
    def build(cls, confidences: np.ndarray, texts: Sequence[str] | None = None,
              training_texts: Iterable[str] | None = None) -> BatchReference:
        """The reference from the held-out listings' confidences and, for a text scenario, their texts and
        the texts the classifier learnt from."""
        confidences = np.asarray(confidences, dtype=float)
        confidences = confidences[~np.isnan(confidences)]
        if texts is None or training_texts is None:
            return cls(confidences)
        vocabulary = frozenset(w for text in training_texts for w in words_of(text))
        shares = np.array([unknown_share(t, vocabulary) for t in texts])
        return cls(confidences, vocabulary, shares[~np.isnan(shares)])


@dataclass(frozen=True)
class BatchCheck:
    """The verdict on one batch: the tests' p-values (None where not run) and whether it is unlike."""

    listings: int
    confidence_p: float | None = None
    words_p: float | None = None
    unlike: bool = False
    reference: int = 0  # the test-split predictions it was compared with

    @property
    def checked(self) -> bool:
        return self.confidence_p is not None

    def line(self) -> str:
        """The verdict in words, for the summary and the page."""
        if not self.checked and self.reference < MIN_LISTINGS:
            return (f"whether the batch is like the calibration data is not checked: the data set's test split has "
                    f"{self.reference} classified listings to compare it with, and it takes {MIN_LISTINGS}")
        if not self.checked:
            return (f"too few classified listings ({self.listings}) to check whether the batch is like the "
                    f"calibration data (it takes {MIN_LISTINGS})")
        if not self.unlike:
            return "the batch looks like the listings the cut-off was calibrated on, so its guarantee applies"
        why = []
        if self.confidence_p is not None and self.confidence_p < ALPHA / self.tests:
            why.append("the model is less sure of them than usual")
        if self.words_p is not None and self.words_p < ALPHA / self.tests:
            why.append("their texts use more words the model never learnt than usual")
        return ("this batch is unlike the calibration data (" + " and ".join(why) +
                "): its accepted share and precision are not guaranteed")

    @property
    def tests(self) -> int:
        return 1 + (self.words_p is not None)


def check_batch(reference: BatchReference, confidences: np.ndarray,
                unknown_shares: np.ndarray | None = None) -> BatchCheck:
    """Compare a batch's confidences (NaN: not classified) and, for text scenarios, its listings'
    unknown-word shares with the reference."""
    confidences = np.asarray(confidences, dtype=float)
    confidences = confidences[~np.isnan(confidences)]
    if len(confidences) < MIN_LISTINGS or len(reference.confidences) < MIN_LISTINGS:
        return BatchCheck(len(confidences), reference=len(reference.confidences))
    # "greater": the batch's distribution function lies above the reference's, i.e. lower confidences.
    confidence_p = float(ks_2samp(confidences, reference.confidences, alternative="greater").pvalue)
    words_p = None
    if unknown_shares is not None and reference.unknown_shares is not None:
        shares = np.asarray(unknown_shares, dtype=float)
        shares = shares[~np.isnan(shares)]
        if len(shares) >= MIN_LISTINGS:
            words_p = float(ks_2samp(shares, reference.unknown_shares, alternative="less").pvalue)
    tests = 1 + (words_p is not None)
    unlike = confidence_p < ALPHA / tests or (words_p is not None and words_p < ALPHA / tests)
    return BatchCheck(len(confidences), confidence_p, words_p, unlike, len(reference.confidences))
