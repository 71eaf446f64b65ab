"""Browsing a scenario's mistakes: which of its wrong answers to show, in which order."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.hierarchy import parent_of

ANY, RIGHT_PARENT, WRONG_PARENT = "any", "right parent", "wrong parent"


@dataclass(frozen=True)
class MistakeFilter:
    """What the misclassified page asks for; ``apply`` takes ``ScenarioResult.misclassified()``."""

    test_split_only: bool = True
    true_categories: tuple[str, ...] = ()  # empty: every category
    predicted_categories: tuple[str, ...] = ()
    confidence: tuple[float, float] = (0.0, 1.0)  # bounds on the confidence in the wrong answer, inclusive
    most_confident_first: bool = True
    # Below the first level of the tree: "any", "right parent" (a wrong sub-category under the right parent) or
    # "wrong parent".
    kind: str = ANY

    def apply(self, mistakes: pd.DataFrame) -> pd.DataFrame:
        """The mistakes that match, in the asked order."""
        keep = mistakes["confidence"].between(*self.confidence)
        if self.test_split_only:
            keep &= mistakes["split"] == "test"
        if self.true_categories:
            keep &= mistakes["true"].isin(self.true_categories)
        if self.predicted_categories:
            keep &= mistakes["predicted"].isin(self.predicted_categories)
        if self.kind != ANY:
            same_parent = pd.Series([parent_of(t) == parent_of(p) for t, p in zip(mistakes["true"],
                                                                                  mistakes["predicted"])],
                                    index=mistakes.index, dtype=bool)
            keep &= same_parent if self.kind == RIGHT_PARENT else ~same_parent
        return (mistakes[keep].sort_values("confidence", ascending=not self.most_confident_first, kind="stable")
                .reset_index(drop=True))
