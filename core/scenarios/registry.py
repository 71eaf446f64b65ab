"""All scenarios by name, in the order of the results table."""
from __future__ import annotations

from core.scenarios.base import Scenario
from core.scenarios.clip import clip_scenarios
from core.scenarios.densenet import DenseNetScenario
from core.scenarios.tfidf import TfidfScenario


def all_scenarios(fast: bool = True, augment: bool = False, fine_tune: bool = False) -> dict[str, Scenario]:
    """A fresh instance of every scenario, keyed by name; ``fast=False`` runs CLIP in exact fp32,
    ``augment`` trains DenseNet's head with mirrored photos too, ``fine_tune`` also trains its last
    dense block."""
    densenet = DenseNetScenario(augment=augment, fine_tune=fine_tune)
    scenarios: list[Scenario] = [densenet, *clip_scenarios(fast), TfidfScenario()]
    return {s.name: s for s in scenarios}
