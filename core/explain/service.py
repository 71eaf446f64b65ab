"""Explaining a scenario's predictions on a dataset: the fitted classifier and its predictions from the
results store, the scenario's own explainer, and explanations cached per listing, scenario and class."""
from __future__ import annotations

import hashlib
from pathlib import Path

import joblib
from PIL import Image

from core.dataset import Dataset, listing_photo
from core.explain.explanation import Explanation
from core.locations import work_dirs
from core.runs import fitted_result
from core.scenarios.base import Scenario
from core.store import ResultsStore, result_key

# Bumped whenever explanations of the same inputs would change.
EXPLANATION_VERSION = "2"  # 2: a listing's probabilities are the stored prediction's


class ScenarioExplainer:
    """Explanations of one scenario on one dataset, for listings of the dataset or new ones."""

    def __init__(self, scenario: Scenario, dataset: Dataset, store: ResultsStore):
        self.scenario = scenario
        self.dataset = dataset
        self.result = fitted_result(scenario, dataset, store)
        self.estimator = self.result.estimator
        self.explainer = scenario.explainer(self.estimator)
        self.key = result_key(scenario, dataset.fingerprint)

    def explain(self, photo: Image.Image | None, name: str, description: str, target: str | None = None) -> Explanation:
        """Why the scenario classifies this new listing as it does (or as ``target``)."""
        return self.explainer.explain(photo, name, description, target)

    def explain_listing(self, uniq_id: str, target: str | None = None) -> Explanation:
        """Explanation of a listing of the dataset, with the probabilities the scenario stored for it (the
        ones its results and pages show), computed once per listing, scenario and class."""
        path = self._cache_path(uniq_id, target)
        if path.is_file():
            try:
                return joblib.load(path)
            except (OSError, ValueError, EOFError):
                pass  # damaged: recompute
        listing = self.dataset.listing(uniq_id)
        explanation = self.explainer.explain(listing_photo(listing), listing["product_name"], listing["description"],
                                             target, self.result.probabilities_of(uniq_id),
                                             specifications=listing.get("specifications") or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(explanation, path)
        return explanation

    def _cache_path(self, uniq_id: str, target: str | None) -> Path:
        raw = f"{EXPLANATION_VERSION}|{self.key}|{uniq_id}|{target or 'predicted'}"
        return work_dirs().cache / "explanations" / f"{hashlib.sha256(raw.encode()).hexdigest()[:24]}.joblib"
