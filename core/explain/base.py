"""One interface for every scenario's explanations, as Captum has ``attribute()`` and
pytorch-grad-cam its base CAM class: the prediction comes from the scenario's own classifying path,
the relevance from the scenario's method, for the same class."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

from PIL import Image

from core.explain.explanation import Explanation, resolve_target


@dataclass(frozen=True)
class ListingInput:
    """What an explainer reads of one listing."""

    photo: Image.Image | None
    name: str
    description: str
    specifications: str = ""


# Below this gap (in probability) the model explained and the model that classified are taken to agree.
AGREEMENT_TOLERANCE = 0.005


class Explainer(ABC):
    """Explains one scenario's fitted classifier (``scenario.features_of`` + ``estimator``)."""

    # What ``attribute`` runs, named for the reader when its probabilities differ from the prediction's.
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

    @abstractmethod
    def attribute(self, photo: Image.Image | None, name: str, description: str, target: str,
                  specifications: str = "") -> Explanation:
        """Relevance of the photo and words for ``target``, with the probabilities of the model it ran."""

    def attribute_many(self, listings: list[ListingInput], targets: list[str]) -> list[Explanation]:
        """``attribute`` for several listings; an explainer whose method batches does them at once."""
        return [self.attribute(listing.photo, listing.name, listing.description, target, listing.specifications)
                for listing, target in zip(listings, targets)]

    def explain(self, photo: Image.Image | None, name: str, description: str, target: str | None = None,
                probabilities: dict[str, float] | None = None, specifications: str = "") -> Explanation:
        """Why the scenario classifies the listing as it does (or as ``target``). ``probabilities`` are
        the scenario's stored ones for a listing it already classified; computed when not given. The
        explanation always shows the classifying model's probabilities, and says so when the model
        the relevance was computed on gives the explained class another one."""
        listing = ListingInput(photo, name, description, specifications)
        return self.explain_many([listing], [probabilities], [target])[0]

    def explain_many(self, listings: list[ListingInput], probabilities: list[dict[str, float] | None],
                     targets: list[str | None] | None = None) -> list[Explanation]:
        """``explain`` for several listings at once (``probabilities`` and ``targets`` one per listing)."""
        probabilities = [given if given is not None else
                         self.predict_proba(listing.photo, listing.name, listing.description, listing.specifications)
                         for listing, given in zip(listings, probabilities)]
        targets = [resolve_target(target, p) for target, p in zip(targets or [None] * len(listings), probabilities)]
        return [self._as_classified(attribution, target, p) for attribution, target, p
                in zip(self.attribute_many(listings, targets), targets, probabilities)]

    def _as_classified(self, attribution: Explanation, target: str, probabilities: dict[str, float]) -> Explanation:
        """The attribution with the classifying model's probabilities, noting where its own differ."""
        notes = attribution.notes
        explained = attribution.probabilities[target]
        if abs(explained - probabilities[target]) >= AGREEMENT_TOLERANCE:
            notes += (f"The probabilities are those of the model that classifies ({probabilities[target]:.1%} for "
                      f"“{target}”); the highlighted words and the heatmap were computed on {self.attributed_model}, "
                      f"which gives {explained:.1%}.",)
        return replace(attribution, target=target, probabilities=probabilities, notes=notes)
