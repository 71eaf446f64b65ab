"""The label-loop actions: likely label errors found and kept for the review queue, and the operators'
answers turned into a new data version. The command line and the pages call these, so that both find,
keep and correct the same way."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.dataset import Dataset
from core.errors import ScenarioUnavailableError
from core.labels.issues import LABEL_ISSUES_TABLE, label_issues
from core.labels.versions import corrections_from_answers, write_version
from core.progress import Progress, silent
from core.results_store import ResultsStore
from core.review.answer_store import ReviewStore
from core.scenarios.base import Scenario


def find_label_issues(scenario: Scenario, dataset: Dataset, store: ResultsStore,
                      progress: Progress = silent) -> tuple[pd.DataFrame, Path]:
    """cleanlab's ranking of the data set's likely label errors under ``scenario`` (out-of-fold probabilities),
    kept beside the scenario's result, where the review page finds it; the table and where it was written."""
    if reason := scenario.unavailable_reason():
        raise ScenarioUnavailableError(reason)
    table = label_issues(scenario, dataset, progress)
    return table, store.save_table(scenario, dataset.fingerprint, LABEL_ISSUES_TABLE, table)


@dataclass(frozen=True)
class AppliedCorrections:
    """A new data version: the corrections it holds and its folder."""

    corrections: pd.DataFrame
    folder: Path


def apply_corrections(original: Dataset, review_url: str, min_operators: int = 1,
                      name: str | None = None) -> AppliedCorrections:
    """The operators' answers in force that meet the correction rule, written as a new version of the original
    data set (never an edit of it). A review store that does not exist yet is not created."""
    answers = ReviewStore(review_url, create=False).active_frame()
    corrections = corrections_from_answers(answers, original, min_operators)
    return AppliedCorrections(corrections, write_version(original, corrections, name, min_operators))
