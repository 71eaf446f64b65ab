"""Before and after: a scenario on the original labels and on a corrected version, on the same test
listings, scored against both the original and the corrected test labels."""
from __future__ import annotations

import pandas as pd

from core.evaluation import ScenarioResult

COLUMNS = {
    "scenario": "scenario",
    "before_original": "original data: test accuracy (original labels)",
    "before_corrected": "original data: test accuracy (corrected labels)",
    "after_original": "corrected data: test accuracy (original labels)",
    "after_corrected": "corrected data: test accuracy (corrected labels)",
    "test_labels_changed": "test labels changed",
    "train_labels_changed": "train labels changed",
}


def before_after(before: ScenarioResult, after: ScenarioResult) -> dict:
    """One scenario's row: each model scored on the test split against the original labels and against
    the corrected ones, and how many labels the correction changed in each split."""
    old = before.predictions.set_index("uniq_id")
    new = after.predictions.set_index("uniq_id")
    both = old.index.intersection(new.index)
    old, new = old.loc[both], new.loc[both]
    if (old["split"] != new["split"]).any():
        raise ValueError("the two results were not made on the same split: they cannot be compared")
    original, corrected = old["true"], new["true"]
    test = old["split"] == "test"
    changed = original != corrected

    def accuracy(predicted: pd.Series, labels: pd.Series) -> float:
        return float((predicted[test] == labels[test]).mean()) if test.any() else float("nan")

    return {"scenario": before.scenario,
            "before_original": accuracy(old["predicted"], original),
            "before_corrected": accuracy(old["predicted"], corrected),
            "after_original": accuracy(new["predicted"], original),
            "after_corrected": accuracy(new["predicted"], corrected),
            "test_labels_changed": int((changed & test).sum()),
            "train_labels_changed": int((changed & ~test).sum())}


def compare_table(rows: list[dict]) -> pd.DataFrame:
    """The before-and-after rows as a table with headings in words."""
    return pd.DataFrame(rows, columns=list(COLUMNS)).rename(columns=COLUMNS)
