"""The study's protocol, the same for every scenario: shared split, fit on train, score on test,
5-fold cross-validation inside the train split, timings split into embedding / training / prediction.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
)
from sklearn.model_selection import cross_val_predict

from core.calibration import (
    DEFAULT_CONFIDENCE,
    DEFAULT_PRECISION,
    Coverage,
    ReviewThreshold,
    coverage,
    review_threshold,
)
from core.dataset import Dataset
from core.hierarchy import BackOff, TopDownClassifier, at_level, cut_path, level_confidences
from core.progress import Progress, silent
from core.scenarios.base import Scenario
from core.split import assign_split, cv_folds

PROBA_PREFIX = "proba: "


@dataclass
class ScenarioResult:
    """Everything one scenario run produced: predictions per listing, metrics and timings."""

    scenario: str
    description: str
    model_id: str
    data_fingerprint: str
    classes: list[str]
    # uniq_id, split, true, predicted, one "proba: <class>" column per class, and for the train split the
    # out-of-fold prediction's category, confidence and correctness (oof_predicted, oof_confidence, oof_correct;
    # empty on the test split);
    # on a corrected data version also original, the label before correction
    predictions: pd.DataFrame
    train_accuracy: float
    test_accuracy: float
    macro_f1: float
    cv_mean: float | None
    cv_std: float | None
    confusion: list[list[int]]  # test split, rows = true class, columns = predicted, in `classes` order
    per_class: dict[str, dict[str, float]]
    seconds: dict[str, float]  # embedding, training, prediction, cross_validation, total
    cache_hits: int = 0
    computed: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    created_at: str = ""
    reused: bool = False

    def summary(self) -> dict:
        """The scenario's row of the results table, as plain JSON-ready values."""
        return {
            "scenario": self.scenario,
            "train_accuracy": self.train_accuracy,
            "test_accuracy": self.test_accuracy,
            "macro_f1": self.macro_f1,
            "cv_mean": self.cv_mean,
            "cv_std": self.cv_std,
            "seconds": self.seconds["total"],
        }

    def metadata(self) -> dict:
        """Everything but the predictions and the reuse flag, for the JSON artefact."""
        skipped = {"predictions", "reused"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skipped}

    def misclassified(self) -> pd.DataFrame:
        """The wrong predictions (uniq_id, split, true, predicted) with the model's confidence in its
        wrong answer, most confident first."""
        wrong = self.predictions[self.predictions["true"] != self.predictions["predicted"]].copy()
        wrong["confidence"] = [row[PROBA_PREFIX + row["predicted"]] for _, row in wrong.iterrows()]
        return (wrong[["uniq_id", "split", "true", "predicted", "confidence"]]
                .sort_values("confidence", ascending=False).reset_index(drop=True))

    def probabilities_of(self, uniq_id: str) -> dict[str, float] | None:
        """One listing's class probabilities as predicted; None for a listing the scenario skipped."""
        rows = self.predictions[self.predictions["uniq_id"] == uniq_id]
        if rows.empty:
            return None
        return {c: float(rows.iloc[0][PROBA_PREFIX + c]) for c in self.classes}

    def review_threshold(self, target_precision: float = DEFAULT_PRECISION,
                         confidence_level: float = DEFAULT_CONFIDENCE, scope: str = "auto") -> ReviewThreshold:
        """The review cut-off its out-of-fold predictions over the train split give for this precision, held
        with this confidence (see ``core.calibration``)."""
        train = self.predictions[self.predictions["split"] == "train"]
        predicted = train["oof_predicted"].to_numpy(dtype=object) if "oof_predicted" in train else None
        return review_threshold(train["oof_confidence"].to_numpy(), train["oof_correct"].to_numpy(dtype=bool),
                                target_precision, confidence_level, predicted, scope)

    @property
    def level(self) -> int:
        """The level of the category tree it classifies: 1, or one more than the levels above it it keeps."""
        return 1 + sum(1 for column in self.predictions.columns
                       if column.startswith("level") and column.endswith("_confidence"))

    def back_off(self, target_precision: float = DEFAULT_PRECISION, confidence_level: float = DEFAULT_CONFIDENCE,
                 scope: str = "auto") -> BackOff | None:
        """For a deeper level: one review cut-off per level, each chosen on the out-of-fold predictions at that
        level as ``review_threshold`` chooses the deepest; None at the first level."""
        if self.level == 1:
            return None
        train = self.predictions[self.predictions["split"] == "train"]
        above = [review_threshold(train[f"oof_level{k}_confidence"].to_numpy(),
                                  train[f"oof_level{k}_correct"].to_numpy(dtype=bool), target_precision,
                                  confidence_level, train[f"oof_level{k}_predicted"].to_numpy(dtype=object), scope)
                 for k in range(1, self.level)]
        return BackOff(above + [self.review_threshold(target_precision, confidence_level, scope)])

    def test_back_off(self, back_off: BackOff) -> dict:
        """What ``back_off`` does on the test split: how many listings it files at each level, how many go to
        review, and how many of those filed are right at the level they are filed at."""
        test = self.predictions[self.predictions["split"] == "test"]
        depth = self.level
        predicted = [test[f"level{k}_predicted"].to_numpy(dtype=object) for k in range(1, depth)] + \
            [test["predicted"].to_numpy(dtype=object)]
        sure = [test[f"level{k}_confidence"].to_numpy() for k in range(1, depth)] + \
            [test[[PROBA_PREFIX + c for c in self.classes]].max(axis=1).to_numpy()]
        filed = back_off.file(predicted, sure)
        right = np.zeros(len(test), dtype=bool)
        for k in range(1, depth + 1):
            truth = np.array([cut_path(t, k) for t in test["true"]], dtype=object)
            right |= (filed == k) & (truth == predicted[k - 1])
        return {"listings": len(test), "to_review": int((filed == 0).sum()),
                "filed": {k: int((filed == k).sum()) for k in range(1, depth + 1)},
                "accepted": int((filed > 0).sum()), "right": int(right.sum())}

    def test_coverage(self, threshold: ReviewThreshold) -> Coverage:
        """What ``threshold`` accepts of the test split without review, and how often that was right: listings
        neither the model nor its cut-off saw."""
        test = self.predictions[self.predictions["split"] == "test"]
        confidence = test[[PROBA_PREFIX + c for c in self.classes]].max(axis=1).to_numpy()
        return coverage(threshold, confidence, (test["true"] == test["predicted"]).to_numpy(),
                        test["predicted"].to_numpy(dtype=object))

    def probabilities(self) -> np.ndarray:
        """The class probabilities, one row per prediction, columns in `classes` order."""
        return self.predictions[[PROBA_PREFIX + c for c in self.classes]].to_numpy()


@dataclass(frozen=True)
class FittedScenario:
    """A scenario's stored record with the classifier it fitted on the train split: what classifies new
    listings and what explanations take apart."""

    result: ScenarioResult
    estimator: object = field(repr=False)


def protocol_listings(scenario: Scenario, listings: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The listings the scenario's protocol reads, their category at its level, and each one's split ("train"
    or "test"). The split is drawn on every listing first, so each level tests the same ones."""
    split = assign_split(listings, test_share=round(1 - scenario.train_share, 4))
    if scenario.level > 1:
        listings, _ = at_level(listings, scenario.level)
        split, listings = split.loc[listings.index], listings.reset_index(drop=True)
    return listings, split.to_numpy()


def evaluate(scenario: Scenario, dataset: Dataset, progress: Progress = silent) -> FittedScenario:
    """Run the whole protocol for one scenario on the dataset: its result and the classifier it fitted."""
    listings, split = protocol_listings(scenario, dataset.listings)
    classes = sorted(listings["category"].unique()) if scenario.level > 1 else dataset.categories
    labels = listings["category"].to_numpy()

    features = scenario.featurize(listings, progress)
    rows = features.rows
    is_train = split[rows] == "train"
    X, y = features.values, labels[rows]

    model = TopDownClassifier(scenario.estimator(classes), classes) if scenario.top_down else \
        scenario.estimator(classes)
    start = time.perf_counter()
    model.fit(X[is_train], y[is_train])  # an untrained scenario's fit only records the classes
    training = time.perf_counter() - start

    start = time.perf_counter()
    proba = model.predict_proba(X)
    prediction_seconds = time.perf_counter() - start
    model_classes = list(model.classes_)
    proba = proba[:, [model_classes.index(c) for c in classes]]
    predicted = np.array(classes)[proba.argmax(axis=1)]

    cv_mean = cv_std = None
    start = time.perf_counter()
    if scenario.trained:
        progress(0, 1, "cross-validating")
        # Out-of-fold probabilities: each fold's accuracy (not the estimator's own score(), which may be
        # another metric) and the held-out confidences the review cut-off is chosen on.
        folds = cv_folds(y[is_train])
        held_out = cross_val_predict(clone(model), X[is_train], y[is_train], cv=folds, n_jobs=-1,
                                     method="predict_proba")
        held_out_predicted = np.unique(y[is_train])[held_out.argmax(axis=1)]
        scores = np.array([accuracy_score(y[is_train][fold], held_out_predicted[fold])
                           for _, fold in folds.split(X[is_train], y[is_train])])
        cv_mean, cv_std = float(scores.mean()), float(scores.std())
    else:  # nothing is learnt, so its answers on the train split are held out already
        held_out, held_out_predicted = proba[is_train], predicted[is_train]
    cross_validation = time.perf_counter() - start

    predictions = pd.DataFrame({
        "uniq_id": listings["uniq_id"].to_numpy()[rows],
        "split": split[rows],
        "true": y,
        "predicted": predicted,
    })
    if "original_category" in listings:
        predictions["original"] = listings["original_category"].to_numpy()[rows]
    for i, c in enumerate(classes):
        predictions[PROBA_PREFIX + c] = proba[:, i]
    oof_predicted = np.full(len(rows), None, dtype=object)
    oof_predicted[is_train] = held_out_predicted
    predictions["oof_predicted"] = pd.Series(oof_predicted, dtype="str")  # as Parquet gives it back
    predictions["oof_confidence"] = np.nan
    predictions.loc[is_train, "oof_confidence"] = held_out.max(axis=1)
    predictions["oof_correct"] = np.nan
    predictions.loc[is_train, "oof_correct"] = (held_out_predicted == y[is_train]).astype(float)
    for level in range(1, scenario.level):  # the levels above a deeper scenario's, for its back-off
        predicted_there, sure = level_confidences(proba, classes, level)
        predictions[f"level{level}_predicted"], predictions[f"level{level}_confidence"] = predicted_there, sure
        held_there, held_sure = level_confidences(held_out, np.unique(y[is_train]), level)
        predictions[f"oof_level{level}_confidence"] = np.nan
        predictions.loc[is_train, f"oof_level{level}_confidence"] = held_sure
        predictions[f"oof_level{level}_correct"] = np.nan
        predictions.loc[is_train, f"oof_level{level}_correct"] = \
            (held_there == np.array([cut_path(t, level) for t in y[is_train]], dtype=object)).astype(float)
        predictions[f"oof_level{level}_predicted"] = pd.Series(np.full(len(rows), None, dtype=object), dtype="str")
        predictions.loc[is_train, f"oof_level{level}_predicted"] = held_there

    test = ~is_train
    seconds = {
        "embedding": features.seconds,
        "training": training,
        "prediction": prediction_seconds,
        "cross_validation": cross_validation,
    }
    seconds["total"] = sum(seconds.values())
    result = ScenarioResult(
        scenario=scenario.name,
        description=scenario.description,
        model_id=scenario.model_id,
        data_fingerprint=dataset.fingerprint,
        classes=classes,
        predictions=predictions,
        train_accuracy=float(accuracy_score(y[is_train], predicted[is_train])),
        test_accuracy=float(accuracy_score(y[test], predicted[test])),
        # Over the categories the test split holds or the model answered: below the first level a small
        # sub-category may have no test listing, and would count as a zero.
        macro_f1=float(f1_score(y[test], predicted[test], average="macro", zero_division=0)),
        cv_mean=cv_mean,
        cv_std=cv_std,
        confusion=confusion_matrix(y[test], predicted[test], labels=classes).tolist(),
        per_class={c: {k: float(v) for k, v in scores.items()}
                   for c, scores in classification_report(y[test], predicted[test], labels=classes,
                                                          output_dict=True, zero_division=0).items()
                   if c in classes},
        seconds=seconds,
        cache_hits=features.cache_hits,
        computed=features.computed,
        skipped=len(listings) - len(rows),
        notes=features.notes,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return FittedScenario(result, model)
