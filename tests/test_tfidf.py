import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from core.explain.tfidf_words import word_contributions
from core.scenarios.tfidf import TfidfScenario
from core.split import assign_split
from tests.conftest import needs_reference_data


@needs_reference_data
def test_tfidf_beats_the_public_peers_on_the_shared_split(tfidf_result):
    assert tfidf_result.test_accuracy >= 0.95
    assert 0.9 <= tfidf_result.cv_mean <= 1.0 and tfidf_result.cv_std < 0.05


def test_metrics_agree_with_the_stored_predictions(tfidf_result, reference_dataset):
    frame = tfidf_result.predictions
    test = frame[frame["split"] == "test"]
    assert len(frame) == len(reference_dataset.listings)  # 1050, or 140 on the shipped sample
    assert len(test) == (assign_split(reference_dataset.listings) == "test").sum()
    assert tfidf_result.test_accuracy == accuracy_score(test["true"], test["predicted"])
    assert np.asarray(tfidf_result.confusion).sum() == len(test)
    assert np.trace(np.asarray(tfidf_result.confusion)) == (test["true"] == test["predicted"]).sum()
    np.testing.assert_allclose(tfidf_result.probabilities().sum(axis=1), 1.0)
    assert set(tfidf_result.per_class) == set(tfidf_result.classes)
    assert tfidf_result.seconds["total"] >= tfidf_result.seconds["training"] > 0


def test_word_contributions_add_up_to_the_class_score(reference_dataset):
    scenario = TfidfScenario()
    listings = reference_dataset.listings.iloc[:300]
    features = scenario.featurize(listings)
    model = scenario.estimator(reference_dataset.categories).fit(features.values, listings["category"])
    text = "Titan analog wrist watch for men, stainless steel strap. Titan watch!"
    k = list(model.classes_).index("Watches")
    words = word_contributions(model, text, k)
    assert [w.word for w in words][:3] == ["Titan", "analog", "wrist"]
    assert text[words[1].start:words[1].end] == "analog"
    logit = model.decision_function([text])[0][k] - model.named_steps["logreg"].intercept_[k]
    assert sum(w.score for w in words) == pytest.approx(logit)
    top = max(words, key=lambda w: w.score).word.lower()
    assert top in {"watch", "watches", "analog", "wrist", "strap"}


@needs_reference_data  # a cut-off needs 230 held-out predictions; the shipped sample has 112
def test_the_review_cutoff_comes_from_held_out_predictions_and_reaches_its_precision(tfidf_result):
    frame = tfidf_result.predictions
    train = frame[frame["split"] == "train"]
    assert train["oof_confidence"].notna().all() and frame.loc[frame["split"] == "test", "oof_confidence"].isna().all()
    # The CV accuracy is the out-of-fold predictions' accuracy (5 equal-sized folds: the mean of the folds').
    assert train["oof_correct"].mean() == pytest.approx(tfidf_result.cv_mean, abs=0.01)
    assert (train["oof_predicted"] == train["true"]).to_numpy().tolist() == train["oof_correct"].astype(bool).tolist()
    threshold = tfidf_result.review_threshold(0.98, 0.9, "global")
    assert threshold.cutoff is not None and threshold.held_out == len(train)
    accepted = train[train["oof_confidence"] >= threshold.cutoff]
    assert accepted["oof_correct"].mean() >= 0.98
    assert len(accepted) < len(train)  # some predictions do go to review
    looser = tfidf_result.review_threshold(0.98, 0.5, "global")
    assert looser.cutoff <= threshold.cutoff
    test = tfidf_result.test_coverage(looser)
    assert test.listings == (frame["split"] == "test").sum() and test.accepted >= tfidf_result.test_coverage(
        threshold).accepted
