"""The review answers as they are downloaded: each answer beside the product's name, its data set label
and the model's answer, so that a spreadsheet reader needs nothing else to follow them."""
from __future__ import annotations

import pandas as pd

from core.evaluation import ScenarioResult
from core.review.batches import SentBatch

CONTEXT_COLUMNS = ["product_name", "dataset_label", "model_answer"]


def answers_with_context(answers: pd.DataFrame, listings: pd.DataFrame, results: dict[str, ScenarioResult],
                         batches: list[SentBatch]) -> pd.DataFrame:
    """``answers`` (uniq_id, scenario, ...) with the product's name and data set label (None for a batch
    listing, which has none) and the answer of the scenario it was reviewed under, placed after
    ``uniq_id``."""
    names = [listings[["uniq_id", "product_name", "category"]].rename(columns={"category": "dataset_label"})]
    models = [result.predictions[["uniq_id", "predicted"]].assign(scenario=name) for name, result in results.items()]
    for batch in batches:
        table = batch.table().rename(columns={"key": "uniq_id"})
        names.append(table[["uniq_id", "product_name"]].assign(dataset_label=None))
        models.append(table[["uniq_id", "predicted"]].assign(scenario=batch.scenario))
    known = pd.concat(names, ignore_index=True).drop_duplicates("uniq_id")
    answered = pd.concat(models, ignore_index=True).drop_duplicates(["scenario", "uniq_id"]) if models else \
        pd.DataFrame(columns=["uniq_id", "predicted", "scenario"])
    annotated = (answers.merge(known, on="uniq_id", how="left")
                 .merge(answered.rename(columns={"predicted": "model_answer"}), on=["scenario", "uniq_id"], how="left"))
    front = list(answers.columns[:answers.columns.get_loc("uniq_id") + 1])
    rest = [c for c in answers.columns if c not in front]
    return annotated[front + CONTEXT_COLUMNS + rest]
