"""All scenarios by name, in the order of the results table."""
from __future__ import annotations

from core.scenarios.base import Scenario
from core.scenarios.tfidf import TfidfScenario


def all_scenarios() -> dict[str, Scenario]:
    """A fresh instance of every scenario, keyed by name."""
    scenarios: list[Scenario] = [TfidfScenario()]
    return {s.name: s for s in scenarios}
