"""The result every explanation returns, whatever the scenario and method."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class WordRelevance:
    """A word of the description, where it is (``start``:``end``), its score and whether the model saw it.

    Relevance shares (CLIP) are non-negative and sum to 1 over the words the model saw; words past its
    77-token window have ``seen`` False and score 0. Signed contributions (tfidf) push towards the
    class when positive and away from it when negative (``Explanation.signed_scores``).
    """

    word: str
    start: int
    end: int
    score: float
    seen: bool = True


@dataclass
class Explanation:
    """What drove one prediction: class probabilities, raw relevance over the photo and scored words
    (CLIP: relevance shares; tfidf: signed contributions; DenseNet: no words). The photo's relevance is
    left as the method gives it, as Captum's attributions are: ``core.explain.display`` scales it and
    maps it onto the photo."""

    target: str
    probabilities: dict[str, float]
    # Relevance over the squared photo the model saw, unscaled: CLIP's patches (7x7), Grad-CAM's
    # feature cells; None without a photo or for a scenario that reads only the text.
    photo_grid: np.ndarray | None
    words: list[WordRelevance]
    notes: tuple[str, ...] = ()  # what the user should know to read it, in their words
    signed_scores: bool = False  # word scores are signed contributions, not shares of relevance
    title_words: list[WordRelevance] = field(default_factory=list)  # in the title, where the model reads it

    @property
    def predicted(self) -> str:
        """The class with the highest probability."""
        return max(self.probabilities, key=self.probabilities.get)


def resolve_target(target: str | None, probabilities: dict[str, float]) -> str:
    """The class to explain: the one asked for, or the predicted class when none is."""
    if target is None:
        return max(probabilities, key=probabilities.get)
    if target not in probabilities:
        raise ValueError(f"{target!r} is not one of the classes {sorted(probabilities)}")
    return target
