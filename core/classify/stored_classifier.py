"""A scenario's classifier as stored for the current data set, with its review cut-off: what every
way of classifying a batch (the command line, the app) starts from."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.batch_check import BatchReference
from core.calibration import Promise, ReviewThreshold
from core.classify.batch_input import BatchFile
from core.classify.job import ClassifySummary, classify_batch
from core.dataset import Dataset
from core.errors import ScenarioUnavailableError
from core.evaluation import FittedScenario, ScenarioResult
from core.hierarchy import BackOff
from core.progress import Progress, silent
from core.results_store import ResultsStore
from core.runs import fitted_scenario
from core.scenarios.base import Scenario
from core.text import listing_text
from core.wording import back_off_words, review_line


@dataclass(frozen=True)
class StoredClassifier:
    scenario: Scenario
    fitted: FittedScenario
    threshold: ReviewThreshold | BackOff  # a back-off down the tree for a level below the first
    promise: Promise
    reference: BatchReference  # what each batch is compared with

    @classmethod
    def load(cls, scenario: Scenario, dataset: Dataset, promise: Promise, store: ResultsStore,
             progress: Progress = silent) -> StoredClassifier:
        """The scenario's classifier stored in ``store`` (trained and stored first when there is none) and the
        cut-off its held-out predictions give for the ``promise``; ScenarioUnavailableError (with the fix)
        when it cannot run here."""
        if reason := scenario.unavailable_reason():
            raise ScenarioUnavailableError(reason)
        fitted = fitted_scenario(scenario, dataset, store, progress)
        result = fitted.result
        threshold = result.back_off(promise.target_precision, promise.confidence_level, promise.scope) or \
            result.review_threshold(promise.target_precision, promise.confidence_level, promise.scope)
        return cls(scenario, fitted, threshold, promise, batch_reference(result, dataset, scenario.reads_text))

    @property
    def review(self) -> str:
        """The review cut-off and what it does on the test split, in words (below the first level: the deepest
        level's, then where the back-off files the test split)."""
        if isinstance(self.threshold, BackOff):
            return (f"{review_line(self.fitted.result, self.threshold.cutoffs[-1])}; "
                    f"{back_off_words(self.fitted.result.test_back_off(self.threshold))}")
        return review_line(self.fitted.result, self.threshold)

    def classify(self, batch: BatchFile, output: Path, explain: bool = False, device: str = "cpu",
                 progress: Progress = silent) -> ClassifySummary:
        """Classify every row of ``batch`` into ``output`` on ``device`` (see ``classify_batch``)."""
        return classify_batch(batch, self.scenario, self.fitted.estimator, self.threshold, output, explain=explain,
                              device=device, progress=progress, reference=self.reference, promise=self.promise)


def batch_reference(result: ScenarioResult, dataset: Dataset, reads_text: bool) -> BatchReference:
    """The stored classifier's confidences on the test split and, for a scenario that reads text, the test
    listings' texts and the train split's, which it learnt from."""
    test = result.predictions["split"] == "test"
    confidences = result.probabilities()[test.to_numpy()].max(axis=1)
    if not reads_text:
        return BatchReference.build(confidences)
    listings = dataset.listings.set_index("uniq_id")
    texts = {u: listing_text(listings.at[u, "product_name"], listings.at[u, "description"])
             for u in result.predictions["uniq_id"]}
    split = result.predictions.groupby("split")["uniq_id"]
    return BatchReference.build(confidences, [texts[u] for u in split.get_group("test")],
                                [texts[u] for u in split.get_group("train")])
