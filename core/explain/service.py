"""Explaining a scenario's predictions: the fitted classifier from the results store, the model
loaded once per process, and explanations cached per listing, scenario and class."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import joblib
from PIL import Image

from core.dataset import Dataset, listing_photo
from core.errors import NoPhotoError
from core.explain.clip_relevance import ClassHead, ClipExplainer
from core.explain.explanation import Explanation
from core.explain.gradcam import densenet_gradcam, gradcam
from core.locations import work_dirs
from core.models.densenet_finetune import frozen_part
from core.runs import run_scenario
from core.scenarios.base import Scenario
from core.scenarios.clip import ClipScenario
from core.scenarios.densenet import DenseNetScenario, FineTunedNetwork
from core.scenarios.tfidf import TfidfScenario, listing_text, word_contributions
from core.store import ResultsStore, result_key

# Bumped whenever explanations of the same inputs would change.
EXPLANATION_VERSION = "1"


def fitted_estimator(scenario: Scenario, dataset: Dataset, store: ResultsStore):
    """The classifier the scenario fitted on the train split (runs the scenario if never run)."""
    estimator = store.load_estimator(scenario, dataset.fingerprint)
    if estimator is None:
        estimator = run_scenario(scenario, dataset, store, force=True).estimator
    return estimator


class ScenarioExplainer:
    """Explanations for one scenario on one dataset, for listings of the dataset or new ones."""

    def __init__(self, scenario: Scenario, dataset: Dataset, store: ResultsStore):
        self.scenario = scenario
        self.dataset = dataset
        self.estimator = fitted_estimator(scenario, dataset, store)
        self.key = result_key(scenario, dataset.fingerprint)
        self._clip: ClipExplainer | None = None

    def clip_explainer(self) -> ClipExplainer:
        if self._clip is None:
            loaded = self.scenario.embedder().loaded  # the fp32 model, shared with the exact embedder
            self._clip = ClipExplainer(loaded.model, loaded.processor, ClassHead.from_estimator(self.estimator),
                                       self.scenario.prepare_text)
        return self._clip

    def explain(self, photo: Image.Image | None, name: str, description: str, target: str | None = None) -> Explanation:
        """Why the scenario classifies this listing as it does (or as ``target``)."""
        if isinstance(self.scenario, ClipScenario):
            return self.clip_explainer().explain(photo, description, target)
        if isinstance(self.scenario, DenseNetScenario):
            if photo is None:
                raise NoPhotoError("This scenario reads only the photo, and the listing has none.")
            encoder = self.scenario.encoder()
            if self.scenario.fine_tune:
                top = self.estimator.top_
                network = FineTunedNetwork(frozen_part(encoder.loaded.model), top).eval()
                return gradcam(network, top.norm, [str(c) for c in self.estimator.classes_], photo, target,
                               self.scenario.image_size)
            head = getattr(self.estimator, "estimator_", self.estimator)  # the mirror-augmented head's own
            return densenet_gradcam(encoder.loaded.model, head, photo, target, self.scenario.image_size)
        if isinstance(self.scenario, TfidfScenario):
            return _tfidf_explanation(self.estimator, name, description, target)
        raise ValueError(f"{self.scenario.name} has no explanation method")

    def explain_listing(self, uniq_id: str, target: str | None = None) -> Explanation:
        """Explanation of a listing of the dataset, computed once per listing, scenario and class."""
        path = self._cache_path(uniq_id, target)
        if path.is_file():
            try:
                return joblib.load(path)
            except (OSError, ValueError, EOFError):
                pass  # damaged: recompute
        listing = self.dataset.listing(uniq_id)
        photo = listing_photo(listing)
        explanation = self.explain(photo, listing["product_name"], listing["description"], target)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(explanation, path)
        return explanation

    def _cache_path(self, uniq_id: str, target: str | None) -> Path:
        raw = f"{EXPLANATION_VERSION}|{self.key}|{uniq_id}|{target or 'predicted'}"
        return work_dirs().cache / "explanations" / f"{hashlib.sha256(raw.encode()).hexdigest()[:24]}.joblib"


def _tfidf_explanation(model, name: str, description: str, target: str | None) -> Explanation:
    """tfidf: word contributions (coefficient x tf-idf weight) of the text it reads, on the description."""
    classes = [str(c) for c in model.classes_]
    text = listing_text(name, description)
    probabilities = model.predict_proba([text])[0]
    index = int(probabilities.argmax()) if target is None else classes.index(target)
    offset = len(text) - len(description)  # the name is prepended: shift back onto the description
    words = [replace(w, start=w.start - offset, end=w.end - offset)
             for w in word_contributions(model, text, index) if w.start >= offset]
    notes = ()
    if model.named_steps["tfidf"].transform([text]).nnz == 0:
        notes = ("None of these words occurs in the listings tfidf learnt from, so its answer says nothing about "
                 "this text: it only reflects how common each category was.",)
    return Explanation(classes[index], dict(zip(classes, probabilities.tolist())), None, words, notes=notes)
