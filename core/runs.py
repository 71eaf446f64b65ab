"""Running a scenario through the store: reuse a stored result for the same inputs, else compute and save."""
from __future__ import annotations

from core.dataset import Dataset
from core.errors import ScenarioUnavailableError
from core.evaluation import FittedScenario, ScenarioResult, evaluate
from core.progress import Progress, silent
from core.results_store import ResultsStore
from core.scenarios.base import Scenario
from core.scenarios.variants import variant


def run_scenario(scenario: Scenario, dataset: Dataset, store: ResultsStore, force: bool = False,
                 progress: Progress = silent) -> ScenarioResult:
    """The scenario's result on the dataset: from the store unless ``force``, else computed and stored.

    Raises ScenarioUnavailableError (with the fix in its message) when the scenario cannot run here.
    """
    if not force:
        stored = store.load(scenario, dataset.fingerprint)
        if stored is not None:
            return stored
    return _evaluate_and_save(scenario, dataset, store, progress).result


def fitted_scenario(scenario: Scenario, dataset: Dataset, store: ResultsStore,
                  progress: Progress = silent) -> FittedScenario:
    """The scenario's stored result with the classifier it fitted on the train split (runs the
    scenario if it never ran or its classifier is gone).

    Raises ScenarioUnavailableError (with the fix in its message) when it has to run and cannot run here.
    """
    result = store.load(scenario, dataset.fingerprint)
    estimator = store.load_estimator(scenario, dataset.fingerprint)
    if result is None or estimator is None:
        return _evaluate_and_save(scenario, dataset, store, progress)
    return FittedScenario(result, estimator)


def _evaluate_and_save(scenario: Scenario, dataset: Dataset, store: ResultsStore,
                       progress: Progress) -> FittedScenario:
    reason = scenario.unavailable_reason()
    if reason:
        raise ScenarioUnavailableError(reason)
    fitted = evaluate(scenario, dataset, progress)
    store.save(scenario, fitted.result, fitted.estimator)
    return fitted


def kept_at_level(base: Scenario, level: int, dataset: Dataset, store: ResultsStore,
                  progress: Progress = silent) -> Scenario:
    """``base`` at a level of the category tree: its flat or its top-down variant, whichever has the better
    5-fold CV (each run and stored first when it was not); ``base`` itself at the first level."""
    if level == 1:
        return base
    candidates = [variant(base, level=level, top_down=top_down) for top_down in (False, True)]
    flat, top_down = (run_scenario(candidate, dataset, store, progress=progress) for candidate in candidates)
    return candidates[int(top_down_is_kept(flat, top_down))]


def top_down_is_kept(flat: ScenarioResult, top_down: ScenarioResult) -> bool:
    """Whether a level's top-down classifier is kept over its flat one: only with a better 5-fold CV (on a tie the
    flat one, the simpler, is kept)."""
    return (top_down.cv_mean or 0.0) > (flat.cv_mean or 0.0)
