"""All scenarios by name, in the order of the results table, each built for a workspace (the scenarios that
read a model find it in the workspace's models folder and cache their features in its cache folder).

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
from core.workspace import Workspace


def _densenet(workspace: Workspace, fast: bool, augment: bool, fine_tune: bool) -> list[Scenario]:
    from core.scenarios.densenet import DenseNetScenario

    return [DenseNetScenario(workspace.models, workspace.cache, augment=augment, fine_tune=fine_tune)]


def _clip(workspace: Workspace, fast: bool, augment: bool, fine_tune: bool) -> list[Scenario]:
    from core.scenarios.clip import clip_scenarios

    return clip_scenarios(workspace.models, workspace.cache, fast)


def _text(workspace: Workspace, fast: bool, augment: bool, fine_tune: bool) -> list[Scenario]:
    return [TfidfScenario(), TfidfSpecsScenario()]


_FAMILIES: dict[str, Callable[[Workspace, bool, bool, bool], list[Scenario]]] = {
    "densenet121": _densenet, "clip_a": _clip, "clip_b": _clip, "clip_zero_shot": _clip,
    "tfidf": _text, "tfidf_specs": _text,
}
SCENARIO_NAMES = tuple(_FAMILIES)


def all_scenarios(workspace: Workspace, fast: bool = True, augment: bool = False,
                  fine_tune: bool = False) -> dict[str, Scenario]:
    """A fresh instance of every scenario for ``workspace``, keyed by name; ``fast=False`` runs CLIP in exact
    fp32, ``augment`` trains DenseNet's head with mirrored photos too, ``fine_tune`` also trains its last
    dense block."""
    families = dict.fromkeys(_FAMILIES.values())
    return {s.name: s for family in families for s in family(workspace, fast, augment, fine_tune)}


def scenario_named(name: str, workspace: Workspace) -> Scenario:
    """A scenario for ``workspace`` by name: one of ``all_scenarios()`` or a retraining variant of one
    (``core.scenarios.variants``); KeyError when the name stands for none."""
    family = _FAMILIES.get(name.split("+")[0])
    found = parse_variant(name, {s.name: s for s in family(workspace, True, False, False)}) if family else None
    if found is None:
        raise KeyError(name)
    return found


def variants_named(names: list[str], workspace: Workspace) -> list[Scenario]:
    """The retraining variants among ``names`` (e.g. the results store's folders), for ``workspace``; names
    this version no longer offers are passed over."""
    found = []
    for name in names:
        if "+" in name:
            with suppress(KeyError):
                found.append(scenario_named(name, workspace))
    return found
