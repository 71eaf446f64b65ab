"""One door to every scenario's explanations, as Captum has ``attribute()``: ``Attributor.attribute``.
The prediction comes from the scenario's own classifying path, the relevance from the scenario's
method, for the same class; the maps are raw (``core.explain.display`` draws them)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace

from PIL import Image

from core.explain.explanation import Explanation, resolve_target


@dataclass(frozen=True)
class ListingInput:
    """What an attributor reads of one listing."""

    photo: Image.Image | None
    name: str
    description: str
    specifications: str = ""


# Below this gap (in probability) the model explained and the model that classified are taken to agree.
AGREEMENT_TOLERANCE = 0.005


class Attributor(ABC):
    """The relevance method of one scenario's fitted classifier (``scenario.features_of`` + ``estimator``),
    made by ``Scenario.attributor``: CLIP's gradient-weighted relevance, tfidf's word contributions or
    Grad-CAM."""

    # What the method runs, named for the reader when its probabilities differ from the prediction's.
    attributed_model = "the same model"

    def __init__(self, scenario, estimator):
        self.scenario = scenario
        self.estimator = estimator
        self.classes = [str(c) for c in estimator.classes_]

    def predict_proba(self, photo: Image.Image | None, name: str, description: str,
                      specifications: str = "") -> dict[str, float]:
        """The class probabilities the scenario gives this listing, computed the way it classifies."""
        features = self.scenario.features_of([photo], [name], [description], [specifications])
        return dict(zip(self.classes, self.estimator.predict_proba(features)[0].tolist()))

    def attribute(self, listings: Sequence[ListingInput], targets: Sequence[str | None] | None = None,
                  probabilities: Sequence[dict[str, float] | None] | None = None) -> list[Explanation]:
        """Why the scenario classifies each listing as it does (or as its ``targets`` entry), one
        explanation per listing, the listings done together where the method batches. ``probabilities``
        are the scenario's stored ones for listings it already classified; computed where None. The
        explanation always shows the classifying model's probabilities, and says so when the model the
        relevance was computed on gives the explained class another one. Its maps are raw."""
        probabilities = [given if given is not None else
                         self.predict_proba(listing.photo, listing.name, listing.description, listing.specifications)
                         for listing, given in zip(listings, probabilities or [None] * len(listings))]
        targets = [resolve_target(target, p) for target, p in zip(targets or [None] * len(listings), probabilities)]
        return [self._as_classified(attribution, target, p) for attribution, target, p
                in zip(self._relevance(listings, targets), targets, probabilities)]

    @abstractmethod
    def _relevance(self, listings: Sequence[ListingInput], targets: list[str]) -> list[Explanation]:
        """The method's relevance of each listing for its target, with the probabilities of the model it ran."""

    def _as_classified(self, attribution: Explanation, target: str, probabilities: dict[str, float]) -> Explanation:
        """The attribution with the classifying model's probabilities, noting where its own differ."""
        notes = attribution.notes
        explained = attribution.probabilities[target]
        if abs(explained - probabilities[target]) >= AGREEMENT_TOLERANCE:
            notes += (f"The probabilities are those of the model that classifies ({probabilities[target]:.1%} for "
                      f"“{target}”); the highlighted words and the heatmap were computed on {self.attributed_model}, "
                      f"which gives {explained:.1%}.",)
        return replace(attribution, target=target, probabilities=probabilities, notes=notes)
