"""Browsing a scenario's mistakes: which of its wrong answers to show, in which order."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class MistakeFilter:
    """What the misclassified page asks for; ``apply`` takes ``ScenarioResult.misclassified()``."""

    test_split_only: bool = True
    true_categories: tuple[str, ...] = ()  # empty: every category
    predicted_categories: tuple[str, ...] = ()
    confidence: tuple[float, float] = (0.0, 1.0)  # bounds on the confidence in the wrong answer, inclusive
    most_confident_first: bool = True

    def apply(self, mistakes: pd.DataFrame) -> pd.DataFrame:
        """The mistakes that match, in the asked order."""
        keep = mistakes["confidence"].between(*self.confidence)
        if self.test_split_only:
            keep &= mistakes["split"] == "test"
        if self.true_categories:
            keep &= mistakes["true"].isin(self.true_categories)
        if self.predicted_categories:
            keep &= mistakes["predicted"].isin(self.predicted_categories)
        return (mistakes[keep].sort_values("confidence", ascending=not self.most_confident_first, kind="stable")
                .reset_index(drop=True))
