"""Likely label errors across the whole data set, from a scenario's out-of-fold probabilities.

Every listing gets class probabilities from a model that did not learn from it (stratified 5-fold over
all listings, the features cached as for any run); cleanlab ranks the listings by its label quality
score and marks those its confident learning counts as issues. Confident learning is cleanlab's job,
not rewritten here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.base import clone
from sklearn.model_selection import cross_val_predict

from core.dataset import Dataset
from core.hierarchy import at_level
from core.progress import Progress, silent
from core.scenarios.base import Scenario
from core.scenarios.registry import all_scenarios
from core.split import cv_folds
from core.workspace import Workspace

LABEL_ISSUES_TABLE = "label-issues"  # the name its ranking is stored under, beside the scenario's result
COLUMNS = ["uniq_id", "given", "suggested", "quality", "is_issue", "suggested_probability"]
JSON_KEYS = COLUMNS[:5]  # what `labels issues --json` prints per listing


def out_of_fold_probabilities(scenario: Scenario, dataset: Dataset, progress: Progress = silent
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The listings the scenario reads (positions in ``dataset.listings``), their given labels at the
    scenario's level of the tree (paths below the first, the tree's merge rule applied; the listings it
    leaves out at that level are passed over), for each its class probabilities from a fold that did not
    train on it, and those classes, in order."""
    features = scenario.featurize(dataset.listings, progress)
    rows, X = features.rows, features.values
    if scenario.level > 1:
        kept = at_level(dataset.listings, scenario.level)[0]
        keep = np.isin(rows, dataset.listings.index.get_indexer(kept.index))
        rows, X = rows[keep], X[keep]
        labels = kept["category"].reindex(dataset.listings.index).to_numpy()[rows]
    else:
        labels = dataset.listings["category"].to_numpy()[rows]
    classes = sorted(set(labels)) if scenario.level > 1 else dataset.categories
    model = scenario.estimator(classes)
    progress(0, 1, "out-of-fold probabilities over every listing")
    if scenario.trained:
        proba = cross_val_predict(clone(model), X, labels, cv=cv_folds(labels), n_jobs=-1, method="predict_proba")
        fitted = np.unique(labels)
    else:  # nothing is learnt: its answers are held out already
        model.fit(X, labels)
        proba, fitted = model.predict_proba(X), np.asarray(model.classes_)
    proba = proba[:, [list(fitted).index(c) for c in classes]]
    return rows, labels, proba, classes


def label_issues(scenario: Scenario, dataset: Dataset, progress: Progress = silent) -> pd.DataFrame:
    """Every listing the scenario reads, most likely mislabelled first: its id, the given label (a path, at
    a level below the first), the label the held-out model prefers, cleanlab's label quality score (0 to 1,
    low is doubtful) and whether cleanlab's ``find_label_issues`` counts it as an issue, and the held-out
    probability of the suggested label."""
    rows, labels, proba, classes = out_of_fold_probabilities(scenario, dataset, progress)
    classes = np.array(classes)
    given = np.searchsorted(classes, labels)
    table = pd.DataFrame({
        "uniq_id": dataset.listings["uniq_id"].to_numpy()[rows],
        "given": labels,
        "suggested": classes[proba.argmax(axis=1)],
        "quality": get_label_quality_scores(given, proba),
        "is_issue": find_label_issues(given, proba),
        "suggested_probability": proba.max(axis=1),
    })
    return table.sort_values("quality", kind="stable").reset_index(drop=True)[COLUMNS]


def stored_label_issues(dataset: Dataset, workspace: Workspace) -> dict[str, pd.DataFrame]:
    """Each scenario's stored ranking of likely label errors on this data set (``labels issues``) in
    ``workspace``, by name."""
    store = workspace.results_store()
    found = {}
    for name, scenario in all_scenarios(workspace).items():
        table = store.load_table(scenario, dataset.fingerprint, LABEL_ISSUES_TABLE)
        if table is not None:
            found[name] = table
    return found
