"""The result every explanation returns, whatever the scenario."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WordRelevance:
    """A word of the description, where it is, and its share of the text relevance (sum 1 over
    the words the model saw; words past the 77-token window have ``seen`` False and share 0)."""

    word: str
    start: int
    end: int
    share: float
    seen: bool


@dataclass
class Explanation:
    """What drove one prediction: class probabilities, a heatmap over the photo and scored words
    (CLIP: relevance shares; tfidf: signed contributions; DenseNet: no words)."""

    target: str
    probabilities: dict[str, float]
    photo: np.ndarray | None  # relevance over the photo, [0, 1], its height x width; None without one
    words: list
    patch_relevance: np.ndarray | None = None  # the raw grid over image patches (e.g. 7x7)
    notes: tuple[str, ...] = ()  # what the user should know to read it, in their words
