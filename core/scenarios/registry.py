"""All scenarios by name, in the order of the results table."""
from __future__ import annotations

from core.scenarios.base import Scenario
from core.scenarios.clip import clip_scenarios
from core.scenarios.densenet import DenseNetScenario
from core.scenarios.tfidf import TfidfScenario
from core.scenarios.tfidf_specs import TfidfSpecsScenario
from core.scenarios.variants import parse_variant


def all_scenarios(fast: bool = True, augment: bool = False, fine_tune: bool = False) -> dict[str, Scenario]:
    """A fresh instance of every scenario, keyed by name; ``fast=False`` runs CLIP in exact fp32,
    ``augment`` trains DenseNet's head with mirrored photos too, ``fine_tune`` also trains its last
    dense block."""
    densenet = DenseNetScenario(augment=augment, fine_tune=fine_tune)
    scenarios: list[Scenario] = [densenet, *clip_scenarios(fast), TfidfScenario(), TfidfSpecsScenario()]
    return {s.name: s for s in scenarios}


def scenario_named(name: str) -> Scenario:
    """A scenario by name: one of ``all_scenarios()`` or a retraining variant of one
    (``core.scenarios.variants``); KeyError when the name stands for none."""
    found = parse_variant(name, all_scenarios())
    if found is None:
        raise KeyError(name)
    return found


def variants_named(names: list[str]) -> list[Scenario]:
    """The retraining variants among ``names`` (e.g. the results store's folders); names this version no
    longer offers are passed over."""
    bases = all_scenarios()
    found = (parse_variant(name, bases) for name in names if "+" in name)
    return [scenario for scenario in found if scenario is not None]
