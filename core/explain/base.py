"""One interface for every scenario's explanations, as Captum has ``attribute()`` and
pytorch-grad-cam its base CAM class: the prediction comes from the scenario's own classifying path,
the relevance from the scenario's method, for the same class."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace

from PIL import Image

from core.explain.explanation import Explanation, resolve_target

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

    def explain(self, photo: Image.Image | None, name: str, description: str, target: str | None = None,
                probabilities: dict[str, float] | None = None, specifications: str = "") -> Explanation:
        """Why the scenario classifies the listing as it does (or as ``target``). ``probabilities`` are
        the scenario's stored ones for a listing it already classified; computed when not given. The
        explanation always shows the classifying model's probabilities, and says so when the model
        the relevance was computed on gives the explained class another one."""
        if probabilities is None:
            probabilities = self.predict_proba(photo, name, description, specifications)
        target = resolve_target(target, probabilities)
        attribution = self.attribute(photo, name, description, target, specifications)
        notes = attribution.notes
        explained = attribution.probabilities[target]
        if abs(explained - probabilities[target]) >= AGREEMENT_TOLERANCE:
            notes += (f"The probabilities are those of the model that classifies ({probabilities[target]:.1%} for "
                      f"“{target}”); the highlighted words and the heatmap were computed on {self.attributed_model}, "
                      f"which gives {explained:.1%}.",)
        return replace(attribution, target=target, probabilities=probabilities, notes=notes)
