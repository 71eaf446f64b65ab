"""The explain actions: a scenario's predictions on a data set explained (the fitted classifier and its
predictions from the results store, the scenario's own explainer, explanations cached per listing,
scenario and class), and the words that drive each category, aggregated from those explanations."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import joblib
import pandas as pd
from PIL import Image

from core.dataset import Dataset, listing_photo
from core.errors import VitrineError
from core.explain.base import ListingInput
from core.explain.explanation import Explanation
from core.explain.keywords import MIN_LISTINGS, aggregate_keywords
from core.progress import Progress, silent
from core.results_store import result_key
from core.runs import fitted_result
from core.scenarios.base import Scenario
from core.workspace import Workspace

# Listings explained per batch: one forward and one backward pass for CLIP, a few seconds on a laptop CPU
# (so that a page's progress moves), far cheaper per listing than one at a time.
EXPLAIN_BATCH = 4
# Bumped whenever explanations of the same inputs would change.
EXPLANATION_VERSION = "2"  # 2: a listing's probabilities are the stored prediction's


class ScenarioExplainer:
    """Explanations of one scenario on one dataset, for listings of the dataset or new ones."""

    def __init__(self, scenario: Scenario, dataset: Dataset, workspace: Workspace):
        """The scenario's classifier from the workspace's results store (trained and stored first when there is
        none); explanations of the dataset's listings are cached in the workspace's cache."""
        self.scenario = scenario
        self.dataset = dataset
        self.result = fitted_result(scenario, dataset, workspace.results_store())
        self.cache = workspace.cache / "explanations"
        self.estimator = self.result.estimator
        self.explainer = scenario.explainer(self.estimator)
        self.key = result_key(scenario, dataset.fingerprint)

    def explain(self, photo: Image.Image | None, name: str, description: str, target: str | None = None) -> Explanation:
        """Why the scenario classifies this new listing as it does (or as ``target``)."""
        return self.explainer.explain(photo, name, description, target)

    def explain_listing(self, uniq_id: str, target: str | None = None) -> Explanation:
        """Explanation of a listing of the dataset, with the probabilities the scenario stored for it (the
        ones its results and pages show), computed once per listing, scenario and class. Raises the
        VitrineError that stops it (a damaged photo, say)."""
        [(_, outcome)] = self.explain_listings([uniq_id], targets=[target])
        if isinstance(outcome, VitrineError):
            raise outcome
        return outcome

    def explain_listings(self, uniq_ids: list[str], progress: Progress = silent, batch_size: int = EXPLAIN_BATCH,
                         targets: list[str | None] | None = None
                         ) -> Iterator[tuple[str, Explanation | VitrineError]]:
        """Each listing's explanation (for its predicted class, or its ``targets`` entry) or the VitrineError
        that stops it (such as a damaged photo), as it becomes ready: cached ones at once, then the others
        computed ``batch_size`` at a time (one backward pass each for CLIP) and cached."""
        missing = []
        for uniq_id, target in zip(uniq_ids, targets or [None] * len(uniq_ids)):
            cached = self.cached(uniq_id, target)
            if cached is None:
                missing.append((uniq_id, target))
            else:
                yield uniq_id, cached
        for start in range(0, len(missing), batch_size):
            progress(start, len(missing), f"explaining {len(missing)} listing(s)")
            ready, inputs = [], []
            for uniq_id, target in missing[start:start + batch_size]:
                listing = self.dataset.listing(uniq_id)
                try:
                    inputs.append(self._input(listing, listing_photo(listing)))
                    ready.append((uniq_id, target))
                except VitrineError as exc:
                    yield uniq_id, exc
            yield from zip([uniq_id for uniq_id, _ in ready], self._computed(ready, inputs) if ready else [])
        if missing:
            progress(len(missing), len(missing), f"explained {len(missing)} listing(s)")

    def cached(self, uniq_id: str, target: str | None = None) -> Explanation | None:
        """The stored explanation of a listing, or None when it was never computed (or is damaged)."""
        path = self._cache_path(uniq_id, target)
        if path.is_file():
            try:
                return joblib.load(path)
            except (OSError, ValueError, EOFError):
                pass  # damaged: recompute
        return None

    @staticmethod
    def _input(listing, photo: Image.Image | None) -> ListingInput:
        return ListingInput(photo, listing["product_name"], listing["description"],
                            listing.get("specifications") or "")

    def _computed(self, wanted: list[tuple[str, str | None]], inputs: list[ListingInput]) -> list[Explanation]:
        """Explanations of listings (uniq_id, target) of the dataset read as ``inputs``, cached."""
        explanations = self.explainer.explain_many(inputs, [self.result.probabilities_of(u) for u, _ in wanted],
                                                   [target for _, target in wanted])
        for (uniq_id, target), explanation in zip(wanted, explanations):
            path = self._cache_path(uniq_id, target)
            path.parent.mkdir(parents=True, exist_ok=True)
            joblib.dump(explanation, path)
        return explanations

    def _cache_path(self, uniq_id: str, target: str | None) -> Path:
        raw = f"{EXPLANATION_VERSION}|{self.key}|{uniq_id}|{target or 'predicted'}"
        return self.cache / f"{hashlib.sha256(raw.encode()).hexdigest()[:24]}.joblib"


def relevance_keywords(explainer: ScenarioExplainer, top: int = 10, min_listings: int = MIN_LISTINGS,
                       progress: Progress = silent) -> pd.DataFrame:
    """Each word's relevance for its listing's own category, aggregated over the dataset (CLIP
    relevance shares or tfidf contributions, from the per-listing explanations, computed in batches and
    cached). A listing whose explanation cannot be computed (a damaged photo) is passed over."""
    listings = explainer.dataset.listings
    category_of = dict(zip(listings["uniq_id"], listings["category"]))
    rows = []
    for uniq_id, explanation in explainer.explain_listings(list(listings["uniq_id"]), progress,
                                                           targets=list(listings["category"])):
        if isinstance(explanation, VitrineError):
            continue
        rows += [(uniq_id, category_of[uniq_id], word.word.lower(), word.score) for word in explanation.words
                 if word.seen]
    frame = pd.DataFrame(rows, columns=["uniq_id", "category", "word", "score"])
    return aggregate_keywords(frame, listings["category"].value_counts(), top, min_listings)
