"""The answer the Results page leads with: which scenario is best on this data, by how much, and at
what cost in time."""
from __future__ import annotations

from dataclasses import dataclass

from core.evaluation import ScenarioResult


def score(result: ScenarioResult) -> float:
    """What scenarios are ranked by: the 5-fold CV mean (less noisy than one test split), else, for a
    scenario that learns nothing, its test accuracy."""
    return result.cv_mean if result.cv_mean is not None else result.test_accuracy


def best_scenario(results: dict[str, ScenarioResult]) -> str | None:
    """The name of the best-scoring scenario, or None when there is none."""
    return max(results, key=lambda name: score(results[name])) if results else None


@dataclass(frozen=True)
class Headline:
    best: str
    text: str


def headline(results: dict[str, ScenarioResult]) -> Headline | None:
    """The best scenario and a sentence on its lead over the runner-up, and their times."""
    name = best_scenario(results)
    if name is None:
        return None
    best = results[name]
    measure = "5-fold CV" if best.cv_mean is not None else "test accuracy"
    spread = f" ± {best.cv_std:.1%}" if best.cv_std is not None else ""
    text = f"**{name}** is the best here: {measure} {score(best):.1%}{spread}, test {best.test_accuracy:.1%}"
    others = sorted((r for n, r in results.items() if n != name), key=score, reverse=True)
    if others:
        second = others[0]
        lead = (score(best) - score(second)) * 100
        noise = " (within the CV spread: not a clear lead)" if best.cv_std is not None and \
            lead / 100 < best.cv_std else ""
        mine, theirs = round(best.seconds["total"]), round(second.seconds["total"])
        cost = f"it took {mine} s against {theirs} s" if mine != theirs else f"both took about {mine} s"
        text += f", {lead:.1f} points above {second.scenario}{noise}; {cost}."
    else:
        text += f"; it took {best.seconds['total']:.0f} s."
    return Headline(name, text)
