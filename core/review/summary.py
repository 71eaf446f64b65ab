"""The operator study: what the answers say (the queue to review is a result's misclassified())."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import pandas as pd
from sklearn.metrics import cohen_kappa_score

REVISE_TREE = "revise the category tree (operators in doubt)"
ASK_ANOTHER = "ask another operator (operators sure, but of different categories)"
CONFIRMED = "keep the data set's label (operators sure of it)"
RETRAIN = "retrain with the operators' label (operators sure)"
# A product goes to the owners of the category tree when at least this share of its answers are in doubt.
REVISE_SHARE = 0.5


def decision_rule(data_set_labels: bool = True) -> str:
    """How a product's answers become its decision, in words (the review page states it); a batch's
    listings have no data set label to confirm."""
    confirmed = f"when they name the data set's own label, {CONFIRMED}; " if data_set_labels else ""
    return (f"when {REVISE_SHARE:.0%} or more of a product's answers are in doubt, {REVISE_TREE}; when the "
            f"answers given without doubt name different categories, {ASK_ANOTHER}; {confirmed}otherwise, {RETRAIN}")


def _decision(doubt_share: float, sure_labels: set[str], category: str | None) -> str:
    if doubt_share >= REVISE_SHARE:
        return REVISE_TREE
    if len(sure_labels) > 1:
        return ASK_ANOTHER
    return CONFIRMED if sure_labels == {category} else RETRAIN


def pair_kappa(first: pd.Series, second: pd.Series) -> float:
    """Cohen's kappa of two operators' labels for the same items; NaN where it is undefined: when both
    gave one and the same category to every item, chance alone explains their agreement."""
    if len(set(first) | set(second)) < 2:
        return float("nan")
    return float(cohen_kappa_score(first, second))


@dataclass
class ReviewSummary:
    per_category: pd.DataFrame  # by the dataset's category: answers, doubt rate, agreement rates
    kappa: pd.DataFrame  # per pair of operators who answered the same items: agreement and Cohen's kappa
    decisions: pd.DataFrame  # per item: product name, answers, labels, doubt share, decision


def summarise(answers: pd.DataFrame, listings: pd.DataFrame, predictions: pd.DataFrame) -> ReviewSummary:
    """Doubt and agreement per category, Cohen's kappa between operators, the decision per item.

    ``answers``: the answers in force (operator, uniq_id, label, in_doubt); an operator's latest
    answer per item counts. ``listings``: uniq_id, product_name, category. ``predictions``: uniq_id, predicted.
    """
    latest = (answers.sort_values("id").groupby(["operator", "uniq_id"], as_index=False).last()
              .merge(listings[["uniq_id", "product_name", "category"]], on="uniq_id", how="left")
              .merge(predictions[["uniq_id", "predicted"]], on="uniq_id", how="left"))
    latest["agrees_with_dataset"] = latest["label"] == latest["category"]
    latest["agrees_with_model"] = latest["label"] == latest["predicted"]
    per_category = latest.groupby("category").agg(
        answers=("label", "size"), doubt_rate=("in_doubt", "mean"),
        agreement_with_dataset=("agrees_with_dataset", "mean"), agreement_with_model=("agrees_with_model", "mean"),
    ).reset_index()

    pairs = []
    for first, second in combinations(sorted(latest["operator"].unique()), 2):
        both = latest[latest["operator"] == first].merge(latest[latest["operator"] == second], on="uniq_id")
        if len(both) >= 2:
            pairs.append({"operators": f"{first} / {second}", "items": len(both),
                          "agreement": float((both["label_x"] == both["label_y"]).mean()),
                          "kappa": pair_kappa(both["label_x"], both["label_y"])})
    kappa = pd.DataFrame(pairs, columns=["operators", "items", "agreement", "kappa"])

    decisions = latest.groupby("uniq_id").agg(
        product=("product_name", "first"), category=("category", "first"), predicted=("predicted", "first"),
        answers=("label", "size"),
        labels=("label", lambda s: ", ".join(sorted(set(s)))), doubt_share=("in_doubt", "mean"),
    ).reset_index()
    sure = latest[~latest["in_doubt"].astype(bool)].groupby("uniq_id")["label"].agg(set)
    decisions["decision"] = [_decision(share, sure.get(uniq_id, set()), category) for uniq_id, share, category
                             in zip(decisions["uniq_id"], decisions["doubt_share"], decisions["category"])]
    return ReviewSummary(per_category, kappa, decisions)


def summarise_batch(answers: pd.DataFrame, flagged: pd.DataFrame) -> ReviewSummary:
    """The summary of a batch's queue: its listings have no data set label, so ``per_category`` is by
    the operators' category (answers, doubt rate, agreement with the model). ``flagged``: the batch's
    table (key, product_name, predicted)."""
    mine = answers[answers["uniq_id"].isin(set(flagged["key"]))]
    listings = pd.DataFrame({"uniq_id": flagged["key"], "product_name": flagged["product_name"], "category": None})
    summary = summarise(mine, listings, flagged[["key", "predicted"]].rename(columns={"key": "uniq_id"}))
    latest = (mine.sort_values("id").groupby(["operator", "uniq_id"], as_index=False).last()
              .merge(flagged[["key", "predicted"]].rename(columns={"key": "uniq_id"}), on="uniq_id", how="left"))
    latest["agrees_with_model"] = latest["label"] == latest["predicted"]
    per_category = latest.groupby("label").agg(
        answers=("label", "size"), doubt_rate=("in_doubt", "mean"), agreement_with_model=("agrees_with_model", "mean"),
    ).reset_index().rename(columns={"label": "category"})
    return ReviewSummary(per_category, summary.kappa, summary.decisions.drop(columns="category"))
