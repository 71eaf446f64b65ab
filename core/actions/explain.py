"""The explain actions: a scenario's predictions explained, for listings of a data set or new ones (the
fitted classifier and its predictions from the results store, the scenario's own attributor, the data
set's explanations cached per listing, scenario and class), and the words that drive each category,
aggregated from those explanations."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import joblib
import pandas as pd

from core.dataset import Dataset, listing_photo
from core.errors import ScenarioUnavailableError, VitrineError
from core.explain.base import ListingInput
from core.explain.explanation import Explanation
from core.explain.keywords import MIN_LISTINGS, aggregate_keywords
from core.progress import Progress, silent
from core.results_store import result_key
from core.runs import fitted_scenario
from core.scenarios.base import Scenario
from core.workspace import Workspace

# Listings explained per batch: one forward and one backward pass for CLIP, a few seconds on a laptop CPU
# (so that a page's progress moves), far cheaper per listing than one at a time.
EXPLAIN_BATCH = 4
# Bumped whenever explanations of the same inputs would change.
EXPLANATION_VERSION = "3"  # 2: a listing's probabilities are the stored prediction's; 3: raw photo grids


class ScenarioExplanations:
    """The explain action: why one scenario, fitted on one dataset, classifies listings as it does. The
    command line, the pages and the keyword guide explain through ``explain_listings`` (or
    ``explain_listing`` for one), never the attributor directly."""

    def __init__(self, scenario: Scenario, dataset: Dataset, workspace: Workspace):
        """The scenario's classifier from the workspace's results store (trained and stored first when there is
        none); explanations of the dataset's listings are cached in the workspace's cache. A top-down scenario
        (one classifier per parent) whose attributor cannot read one is not explained: ScenarioUnavailableError
        says so."""
        if scenario.top_down and not scenario.explains_top_down:
            raise ScenarioUnavailableError(f"{scenario.name} is a top-down classifier (one per parent of the tree), "
                                           "which is not explained yet: explain its flat twin "
                                           f"{scenario.name.replace('+topdown', '')} instead.")
        self.scenario = scenario
        self.dataset = dataset
        fitted = fitted_scenario(scenario, dataset, workspace.results_store())
        self.result = fitted.result
        self.cache = workspace.cache / "explanations"
        self.estimator = fitted.estimator
        self.attributor = scenario.attributor(self.estimator)
        self.key = result_key(scenario, dataset.fingerprint)

    def explain_listing(self, listing: str | ListingInput, target: str | None = None) -> Explanation:
        """``explain_listings`` for one listing; raises the VitrineError that stops it (a damaged photo, say)."""
        [(_, outcome)] = self.explain_listings([listing], targets=[target])
        if isinstance(outcome, VitrineError):
            raise outcome
        return outcome

    def explain_listings(self, listings: Sequence[str | ListingInput], progress: Progress = silent,
                         batch_size: int = EXPLAIN_BATCH, targets: Sequence[str | None] | None = None
                         ) -> Iterator[tuple[str | ListingInput, Explanation | VitrineError]]:
        """Each listing with its explanation (for its predicted class, or its ``targets`` entry) or the
        VitrineError that stops it (such as a damaged photo), as it becomes ready. A listing is a uniq_id
        of the dataset, explained with the probabilities the scenario stored for it (the ones its results
        and pages show) and cached per listing, scenario and class; or a new listing, classified here and
        kept nowhere. Cached ones come at once, the others ``batch_size`` at a time (one backward pass
        each for CLIP). The maps are raw: ``core.explain.display`` draws them."""
        missing = []
        for listing, target in zip(listings, targets or [None] * len(listings)):
            cached = self._cached(listing, target) if isinstance(listing, str) else None
            if cached is None:
                missing.append((listing, target))
            else:
                yield listing, cached
        for start in range(0, len(missing), batch_size):
            progress(start, len(missing), f"explaining {len(missing)} listing(s)")
            ready, inputs = [], []
            for listing, target in missing[start:start + batch_size]:
                try:
                    inputs.append(self._input(listing))
                    ready.append((listing, target))
                except VitrineError as exc:
                    yield listing, exc
            yield from zip([listing for listing, _ in ready], self._computed(ready, inputs) if ready else [])
        if missing:
            progress(len(missing), len(missing), f"explained {len(missing)} listing(s)")

    def _cached(self, uniq_id: str, target: str | None) -> Explanation | None:
        """The stored explanation of a listing, or None when it was never computed (or is damaged)."""
        path = self._cache_path(uniq_id, target)
        if path.is_file():
            try:
                return joblib.load(path)
            except (OSError, ValueError, EOFError):
                pass  # damaged: recompute
        return None

    def _input(self, listing: str | ListingInput) -> ListingInput:
        """What the attributor reads of a listing: a new one as it is, one of the dataset from its row and photo."""
        if isinstance(listing, ListingInput):
            return listing
        row = self.dataset.listing(listing)
        return ListingInput(listing_photo(row), row["product_name"], row["description"],
                            row.get("specifications") or "")

    def _computed(self, wanted: list[tuple[str | ListingInput, str | None]],
                  inputs: list[ListingInput]) -> list[Explanation]:
        """Explanations of listings (listing, target) read as ``inputs``; the dataset's are cached."""
        stored = [self.result.probabilities_of(listing) if isinstance(listing, str) else None for listing, _ in wanted]
        explanations = self.attributor.attribute(inputs, [target for _, target in wanted], stored)
        for (listing, target), explanation in zip(wanted, explanations):
            if isinstance(listing, str):
                path = self._cache_path(listing, target)
                path.parent.mkdir(parents=True, exist_ok=True)
                joblib.dump(explanation, path)
        return explanations

    def _cache_path(self, uniq_id: str, target: str | None) -> Path:
        raw = f"{EXPLANATION_VERSION}|{self.key}|{uniq_id}|{target or 'predicted'}"
        return self.cache / f"{hashlib.sha256(raw.encode()).hexdigest()[:24]}.joblib"


def relevance_keywords(explanations: ScenarioExplanations, top: int = 10, min_listings: int = MIN_LISTINGS,
                       progress: Progress = silent) -> pd.DataFrame:
    """Each word's relevance for its listing's own category, aggregated over the dataset (CLIP
    relevance shares or tfidf contributions, from the per-listing explanations, computed in batches and
    cached). A listing whose explanation cannot be computed (a damaged photo) is passed over."""
    listings = explanations.dataset.listings
    category_of = dict(zip(listings["uniq_id"], listings["category"]))
    rows = []
    for uniq_id, explanation in explanations.explain_listings(list(listings["uniq_id"]), progress,
                                                              targets=list(listings["category"])):
        if isinstance(explanation, VitrineError):
            continue
        rows += [(uniq_id, category_of[uniq_id], word.word.lower(), word.score) for word in explanation.words
                 if word.seen]
    frame = pd.DataFrame(rows, columns=["uniq_id", "category", "word", "score"])
    return aggregate_keywords(frame, listings["category"].value_counts(), top, min_listings)
