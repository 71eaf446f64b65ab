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
from core.review.answer_store import ReviewStore
from core.scenarios.base import Scenario
from core.workspace import Workspace


def find_label_issues(workspace: Workspace, scenario: Scenario, dataset: Dataset,
                      progress: Progress = silent) -> tuple[pd.DataFrame, Path]:
    """cleanlab's ranking of the data set's likely label errors under ``scenario`` (out-of-fold probabilities),
    kept beside the scenario's result in the workspace's results store, where the review page finds it; the
    table and where it was written."""
    if reason := scenario.unavailable_reason():
        raise ScenarioUnavailableError(reason)
    table = label_issues(scenario, dataset, progress)
    return table, workspace.results_store().save_table(scenario, dataset.fingerprint, LABEL_ISSUES_TABLE, table)


@dataclass(frozen=True)
class AppliedCorrections:
    """A new data version: the corrections it holds and its folder."""

    corrections: pd.DataFrame
    folder: Path


def apply_corrections(workspace: Workspace, original: Dataset, min_operators: int = 1,
                      name: str | None = None) -> AppliedCorrections:
    """The operators' answers in force (in the workspace's review store) that meet the correction rule, written
    as a new version of the original data set (never an edit of it) in the workspace's versions. A review
    store that does not exist yet is not created."""
    answers = ReviewStore(workspace.review_url, create=False).active_frame()
    corrections = corrections_from_answers(answers, original, min_operators)
    return AppliedCorrections(corrections, write_version(workspace.versions, original, corrections, name,
                                                         min_operators))
