"""The study actions: what the scenarios are compared by beyond their stored results. Today, how well
each scenario's features group the listings by category (the k-means agreement of
``core.listing_map``), which the Results page shows beside each scenario's scores."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext

from core.dataset import Dataset
from core.listing_map import agreement, stored_agreement
from core.scenarios.registry import scenario_named
from core.workspace import Workspace


def _quietly(name: str) -> AbstractContextManager:
    return nullcontext()


def feature_agreements(names: Iterable[str], dataset: Dataset, workspace: Workspace,
                       computing: Callable[[str], AbstractContextManager] = _quietly) -> dict[str, float | None]:
    """Each named scenario's k-means ARI on ``dataset``: the one kept beside its result, else computed once
    where its features can be read here (k-means only: the map's t-SNE waits for whoever asks for the
    map), inside ``computing(name)`` (a page's spinner, say). None where they cannot be read (its weights
    are absent) or the clustering failed: one missing number, logged, not a failed comparison."""
    found: dict[str, float | None] = {}
    store = workspace.results_store()
    for name in names:
        scenario = scenario_named(name, workspace)
        found[name] = stored_agreement(scenario, dataset, store)
        if found[name] is None and scenario.unavailable_reason() is None:
            try:
                with computing(name):
                    found[name] = agreement(scenario, dataset, store)
            except Exception:  # one number among many: the rest stands, the log has the details
                logging.getLogger(__name__).exception("clustering the features of %s failed", name)
    return found
