"""A scenario's classifier as stored for the current data set, with its review cut-off: what every
way of classifying a batch (the command line, the app) starts from."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.calibration import ReviewThreshold
from core.classify.batch_input import BatchFile
from core.classify.job import ClassifySummary, classify_batch
from core.dataset import Dataset
from core.errors import ScenarioUnavailableError
from core.evaluation import ScenarioResult
from core.progress import Progress, silent
from core.results_store import ResultsStore
from core.runs import fitted_result
from core.scenarios.base import Scenario
from core.scenarios.registry import scenario_named
from core.wording import review_line


@dataclass(frozen=True)
class StoredClassifier:
    scenario: Scenario
    result: ScenarioResult  # with the fitted estimator
    threshold: ReviewThreshold

    @classmethod
    def load(cls, scenario_name: str, dataset: Dataset, precision: float, store: ResultsStore,
             progress: Progress = silent) -> StoredClassifier:
        """The scenario's classifier stored in ``store`` (trained and stored first when there is none) and the
        cut-off its held-out predictions give for ``precision``; ScenarioUnavailableError (with the fix) when
        it cannot run here."""
        scenario = scenario_named(scenario_name)
        if reason := scenario.unavailable_reason():
            raise ScenarioUnavailableError(reason)
        result = fitted_result(scenario, dataset, store, progress)
        return cls(scenario, result, result.review_threshold(precision))

    @property
    def review(self) -> str:
        """The review cut-off and what it does on the test split, in words."""
        return review_line(self.result, self.threshold)

    def classify(self, batch: BatchFile, output: Path, explain: bool = False, device: str = "cpu",
                 progress: Progress = silent) -> ClassifySummary:
        """Classify every row of ``batch`` into ``output`` on ``device`` (see ``classify_batch``)."""
        return classify_batch(batch, self.scenario, self.result.estimator, self.threshold, output, explain=explain,
                              device=device, progress=progress)
