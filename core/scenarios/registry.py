"""All scenarios by name, in the order of the results table.

Each family's module is imported only when one of its scenarios is asked for: a text scenario's job
never imports torch (half a gigabyte in every process that does, Ray's driver included).
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from core.scenarios.base import Scenario
from core.scenarios.tfidf import TfidfScenario
from core.scenarios.tfidf_specs import TfidfSpecsScenario
from core.scenarios.variants import parse_variant


def _densenet(fast: bool, augment: bool, fine_tune: bool) -> list[Scenario]:
    from core.scenarios.densenet import DenseNetScenario

    return [DenseNetScenario(augment=augment, fine_tune=fine_tune)]


def _clip(fast: bool, augment: bool, fine_tune: bool) -> list[Scenario]:
    from core.scenarios.clip import clip_scenarios

    return clip_scenarios(fast)


def _text(fast: bool, augment: bool, fine_tune: bool) -> list[Scenario]:
    return [TfidfScenario(), TfidfSpecsScenario()]


_FAMILIES: dict[str, Callable[[bool, bool, bool], list[Scenario]]] = {
    "densenet121": _densenet, "clip_a": _clip, "clip_b": _clip, "clip_zero_shot": _clip,
    "tfidf": _text, "tfidf_specs": _text,
}
SCENARIO_NAMES = tuple(_FAMILIES)


def all_scenarios(fast: bool = True, augment: bool = False, fine_tune: bool = False) -> dict[str, Scenario]:
    """A fresh instance of every scenario, keyed by name; ``fast=False`` runs CLIP in exact fp32,
    ``augment`` trains DenseNet's head with mirrored photos too, ``fine_tune`` also trains its last
    dense block."""
    families = dict.fromkeys(_FAMILIES.values())
    return {s.name: s for family in families for s in family(fast, augment, fine_tune)}


def scenario_named(name: str) -> Scenario:
    """A scenario by name: one of ``all_scenarios()`` or a retraining variant of one
    (``core.scenarios.variants``); KeyError when the name stands for none."""
    family = _FAMILIES.get(name.split("+")[0])
    found = parse_variant(name, {s.name: s for s in family(True, False, False)}) if family else None
    if found is None:
        raise KeyError(name)
    return found


def variants_named(names: list[str]) -> list[Scenario]:
    """The retraining variants among ``names`` (e.g. the results store's folders); names this version no
    longer offers are passed over."""
    found = []
    for name in names:
        if "+" in name:
            with suppress(KeyError):
                found.append(scenario_named(name))
    return found
