import numpy as np
import pytest
from scipy.stats import binom

from core.calibration import (
    Coverage,
    Promise,
    ReviewThreshold,
    coverage,
    guaranteed_cutoff,
    min_accepted,
    review_threshold,
)


def _scores(rng, n, error_of):
    """n held-out predictions: confidences uniform on [0.3, 1], each wrong with probability error_of(c)."""
    confidence = rng.uniform(0.3, 1.0, n)
    return confidence, rng.random(n) >= error_of(confidence)


def _true_precision(cutoff, error_of):
    """The precision above ``cutoff`` on new listings drawn like ``_scores``'s, by numerical integration."""
    grid = np.linspace(cutoff, 1.0, 20001)
    return 1 - float(np.mean(error_of(grid)))


def test_a_cutoff_whose_true_precision_is_below_the_target_is_chosen_at_most_delta_of_the_time():
    # Errors fall with confidence: 4% at 0.3 down to 0.4% at 1, so only high cut-offs truly reach 99%, and
    # the data are noisy enough that the old "most permissive cut that just reaches it" rule broke it often.
    def error_of(c):
        return 0.04 - 0.036 * (c - 0.3) / 0.7
    rng = np.random.default_rng(7)
    draws, misses, old_misses = 300, 0, 0
    for _ in range(draws):
        confidence, correct = _scores(rng, 1500, error_of)
        cutoff = guaranteed_cutoff(confidence, correct, 0.99, 0.9)
        misses += cutoff is not None and _true_precision(cutoff, error_of) < 0.99
        ranked = np.argsort(-confidence)
        reached = np.flatnonzero(np.cumsum(correct[ranked]) / np.arange(1, 1501) >= 0.99)
        old_misses += _true_precision(confidence[ranked][reached.max()], error_of) < 0.99
    # At most delta = 10% of the draws, up to the binomial noise of 300 draws (the 99.9% quantile).
    assert misses <= binom.ppf(0.999, draws, 0.1)
    assert old_misses > binom.ppf(0.999, draws, 0.1)  # the rule it replaced did not keep this promise


def test_the_cutoff_accepts_much_when_the_predictions_are_nearly_always_right():
    rng = np.random.default_rng(1)
    confidence, correct = _scores(rng, 2000, lambda c: np.full_like(c, 0.001))
    cutoff = guaranteed_cutoff(confidence, correct, 0.99, 0.9)
    assert cutoff is not None and (confidence >= cutoff).mean() > 0.8


def test_too_few_held_out_predictions_give_no_cutoff_even_without_a_mistake():
    # With no error among n, the binomial p-value is 0.99^n: above 0.1 until n reaches 230.
    assert min_accepted(0.99, 0.9) == 230 and min_accepted(1.0, 0.9) is None
    assert guaranteed_cutoff(np.linspace(0.5, 1, 229), np.ones(229, bool)) is None
    assert guaranteed_cutoff(np.linspace(0.5, 1, 230), np.ones(230, bool)) == pytest.approx(0.5)
    # One more, and the lowest of the two candidates is tested too: all 231 are accepted.
    assert guaranteed_cutoff(np.linspace(0.5, 1, 231), np.ones(231, bool)) == 0.5


def test_a_surer_guarantee_or_a_higher_target_accepts_less():
    rng = np.random.default_rng(3)
    confidence, correct = _scores(rng, 3000, lambda c: 0.05 * (1 - c) ** 2)
    loose = guaranteed_cutoff(confidence, correct, 0.99, 0.8)
    sure = guaranteed_cutoff(confidence, correct, 0.99, 0.99)
    higher = guaranteed_cutoff(confidence, correct, 0.995, 0.8)
    assert loose < sure and loose < higher


def test_no_threshold_is_invented_when_the_held_out_predictions_never_reach_the_target():
    threshold = review_threshold(np.full(500, 0.9), np.arange(500) % 10 != 0, 0.99)
    assert threshold.cutoff is None and not threshold.accepts_any()
    assert threshold.needs_review(np.array([1.0, 0.5])).all()


def test_a_prediction_at_the_cutoff_is_accepted_and_nan_needs_review():
    threshold = ReviewThreshold(0.99, 0.7, 300)
    assert threshold.needs_review(np.array([0.7, 0.69, np.nan])).tolist() == [False, True, True]
    assert threshold.delta == pytest.approx(0.1) and threshold.scope == "global"


def test_per_category_cutoffs_follow_each_categorys_own_mistakes():
    rng = np.random.default_rng(5)
    n = 2000
    predicted = np.where(np.arange(n) % 2 == 0, "Watches", "Baby Care")
    confidence = rng.uniform(0.5, 1.0, n)
    # Watches are right whatever the confidence; Baby Care wrong 1 time in 10 below 0.8.
    wrong = (predicted == "Baby Care") & (confidence < 0.8) & (rng.random(n) < 0.1)
    threshold = review_threshold(confidence, ~wrong, 0.99, 0.9, predicted, scope="per-category")
    assert threshold.scope == "per-category"
    assert threshold.cutoff_for("Watches") < 0.55 and 0.77 < threshold.cutoff_for("Baby Care") <= 0.81
    assert threshold.held_out_per_category == {"Baby Care": 1000, "Watches": 1000}
    review = threshold.needs_review(np.array([0.6, 0.6, 0.6]), np.array(["Watches", "Baby Care", "Toys"]))
    assert review.tolist() == [False, True, True]  # a category without a cut-off goes to review


def test_auto_takes_the_per_category_cutoffs_when_they_accept_more_at_half_the_risk_each():
    rng = np.random.default_rng(5)
    n = 3000
    predicted = np.where(np.arange(n) % 2 == 0, "Watches", "Baby Care")
    confidence = rng.uniform(0.5, 1.0, n)
    wrong = (predicted == "Baby Care") & (confidence < 0.8) & (rng.random(n) < 0.1)
    chosen = review_threshold(confidence, ~wrong, 0.99, 0.9, predicted)
    assert chosen.scope == "per-category" and chosen.scope_reason.startswith("a cut-off per category: it accepts ")
    assert chosen.scope_reason.endswith("; each was chosen at half the chance of a miss, so the choice keeps the "
                                        "guarantee")
    assert (chosen.target_precision, chosen.confidence_level, chosen.held_out) == (0.99, 0.9, 3000)
    assert chosen.held_out_per_category == {"Baby Care": 1500, "Watches": 1500}
    overall = review_threshold(confidence, ~wrong, 0.99, 0.95, predicted, scope="global")
    assert f"against {(~overall.needs_review(confidence)).mean():.0%}" in chosen.scope_reason
    halved = review_threshold(confidence, ~wrong, 0.99, 0.95, predicted, scope="per-category")
    assert dict(chosen.per_category) == dict(halved.per_category)


def test_auto_stays_global_without_looking_at_outcomes_when_no_category_could_have_its_own_cutoff():
    rng = np.random.default_rng(2)
    predicted = np.array(["A", "B", "C", "D"] * 100)  # 100 each: under the 230 a cut-off needs
    confidence, correct = _scores(rng, 400, lambda c: np.zeros_like(c))
    chosen = review_threshold(confidence, correct, 0.99, 0.9, predicted)
    assert chosen.scope == "global" and chosen.cutoff == guaranteed_cutoff(confidence, correct, 0.99, 0.9)
    assert "no category has the 230 held-out predictions" in chosen.scope_reason


def test_coverage_gives_the_precision_with_its_exact_interval_and_a_verdict():
    threshold = ReviewThreshold(0.99, 0.9, 300)
    measured = coverage(threshold, np.array([0.99, 0.92, 0.91, 0.3]), np.array([True, True, False, True]))
    assert (measured.accepted, measured.share, measured.right) == (3, 0.75, 2)
    assert measured.precision == pytest.approx(2 / 3)
    low, high = measured.interval()
    assert low == pytest.approx(0.0943, abs=1e-3) and high == pytest.approx(0.9916, abs=1e-3)  # Clopper-Pearson
    assert measured.verdict(0.99) == "below, within chance"
    assert Coverage(100, 100, 0.9, 90).verdict(0.99) == "not held"
    assert Coverage(100, 50, 1.0, 50).verdict(0.99) == "held"
    assert coverage(threshold, np.array([0.1]), np.array([True])).verdict(0.99) == "nothing accepted"


@pytest.mark.parametrize("target", [0.0, 1.5])
def test_a_target_precision_outside_0_to_1_is_refused(target):
    with pytest.raises(ValueError, match=rf"the target precision must be in \(0, 1\]; got {target}"):
        review_threshold(np.array([0.9]), np.array([True]), target)


@pytest.mark.parametrize("level", [0.0, 1.0])
def test_a_confidence_level_outside_0_to_1_is_refused(level):
    with pytest.raises(ValueError, match="the confidence level must be in"):
        Promise(0.99, level)


def test_an_unknown_scope_is_refused_with_the_scopes_it_may_be():
    assert Promise(scope="per-category").scope == "per-category"
    with pytest.raises(ValueError, match=r"^the scope must be one of auto, global, per-category; got 'everywhere'$"):
        Promise(scope="everywhere")


def test_per_category_cutoffs_need_the_predicted_categories_and_accept_when_one_category_can():
    threshold = ReviewThreshold(0.99, None, 600, per_category={"A": None, "B": 0.8})
    assert threshold.accepts_any()
    assert not ReviewThreshold(0.99, None, 600, per_category={"A": None}).accepts_any()
    with pytest.raises(ValueError, match="^per-category cut-offs need the predicted categories$"):
        threshold.needs_review(np.array([0.9]))
    # A confidence column with a missing value (object dtype, as pandas gives it) is read as numbers.
    assert ReviewThreshold(0.99, 0.7, 300).needs_review([0.7, None]).tolist() == [False, True]
    # Coverage on the test split uses each prediction's category.
    measured = coverage(threshold, np.array([0.9, 0.9]), np.array([True, False]), np.array(["B", "A"]))
    assert (measured.accepted, measured.right) == (1, 1)


def test_the_verdict_holds_at_the_target_and_is_within_chance_when_the_interval_just_reaches_it():
    assert Coverage(100, 100, 0.99, 99).verdict(0.99) == "held"
    below = Coverage(100, 100, 0.9, 90)
    high = below.interval()[1]
    assert below.verdict(high) == "below, within chance"
    assert below.interval(0.8)[1] < high and below.verdict(high, level=0.8) == "not held"


def test_a_chosen_threshold_keeps_its_level_target_and_held_out_count():
    rng = np.random.default_rng(3)
    confidence, correct = _scores(rng, 3000, lambda c: 0.05 * (1 - c) ** 2)
    confidence[0] = np.nan  # nothing classified: not a held-out prediction
    predicted = np.where(np.arange(3000) % 2 == 0, "A", "B")
    overall = review_threshold(confidence, correct, 0.99, 0.8, predicted, scope="global")
    assert overall.cutoff == guaranteed_cutoff(confidence, correct, 0.99, 0.8)
    assert overall.cutoff != guaranteed_cutoff(confidence, correct, 0.99, 0.9)
    assert (overall.target_precision, overall.confidence_level, overall.held_out) == (0.99, 0.8, 2999)
    assert overall.scope_reason == ""
    each = review_threshold(confidence, correct, 0.99, 0.8, predicted, scope="per-category")
    assert (each.target_precision, each.confidence_level, each.held_out) == (0.99, 0.8, 2999)
    for category in ("A", "B"):
        mine = predicted == category
        assert each.cutoff_for(category) == guaranteed_cutoff(confidence[mine], correct[mine], 0.99, 0.8)


def test_auto_says_what_each_scope_accepts_whichever_it_chooses():
    # A: 400 right predictions, enough for its own cut-off; B: 250, too few at half the risk (299 needed).
    rng = np.random.default_rng(4)
    predicted = np.array(["A"] * 400 + ["B"] * 250)
    confidence, correct = rng.uniform(0.5, 1.0, 650), np.ones(650, bool)
    chosen = review_threshold(confidence, correct, 0.99, 0.9, predicted)
    assert chosen.scope == "global"
    each = review_threshold(confidence, correct, 0.99, 0.95, predicted, scope="per-category")
    other = (~each.needs_review(confidence, predicted)).mean()
    share = (~chosen.needs_review(confidence)).mean()
    assert share > other
    assert chosen.scope_reason.startswith(f"one cut-off for all: it accepts {share:.0%} of the held-out "
                                          f"predictions, against {other:.0%}")


def test_review_threshold_refuses_an_unknown_scope_and_per_category_without_the_categories():
    confidence, correct = np.linspace(0.5, 1, 300), np.ones(300, bool)
    with pytest.raises(ValueError, match=r"^the scope must be one of auto, global, per-category; got 'everywhere'$"):
        review_threshold(confidence, correct, scope="everywhere")
    with pytest.raises(ValueError, match="^per-category cut-offs need the held-out predicted categories$"):
        review_threshold(confidence, correct, scope="per-category")
    assert review_threshold(confidence, correct).scope == "global"  # auto without categories: one cut-off


def test_a_held_out_confidence_that_is_missing_is_left_out_whatever_the_columns_type():
    rng = np.random.default_rng(6)
    confidence, correct = _scores(rng, 600, lambda c: np.full_like(c, 0.002))
    predicted = np.where(np.arange(600) % 2 == 0, "A", "B")
    gappy = [*confidence.tolist(), None]  # a listing the scenario skipped, as an object column gives it
    for scope in ("auto", "global", "per-category"):
        kept = review_threshold(confidence, correct, 0.99, 0.9, predicted, scope)
        threshold = review_threshold(gappy, [*correct, True], 0.99, 0.9, [*predicted, "A"], scope)
        assert (threshold.cutoff, threshold.per_category, threshold.held_out) == \
            (kept.cutoff, kept.per_category, 600)


def test_auto_compares_both_scopes_when_one_category_has_exactly_the_predictions_it_needs():
    # A: exactly the 230 held-out predictions a cut-off at 90% needs; B, last by name, far fewer.
    rng = np.random.default_rng(8)
    predicted = np.array(["A"] * 230 + ["B"] * 100)
    confidence, correct = rng.uniform(0.5, 1.0, 330), np.ones(330, bool)
    chosen = review_threshold(confidence, correct, 0.99, 0.9, predicted)
    assert chosen.scope_reason.startswith("one cut-off for all: it accepts ")
    assert "against 0%" in chosen.scope_reason  # at half the risk each category needs 299: none has a cut-off


@pytest.mark.parametrize(("target", "level", "needed"), [(0.99, 0.9, "230"), (0.5, 0.5, "1"), (1.0, 0.9, "needed")])
def test_auto_with_nothing_classified_gives_no_cutoff_and_says_why(target, level, needed):
    # min_accepted is 230 at 99% / 90%, 1 at 50% / 50%, and no number at 100%.
    chosen = review_threshold(np.full(5, np.nan), np.ones(5, bool), target, level, np.array(["A"] * 5))
    assert chosen.scope == "global" and chosen.cutoff is None and chosen.held_out == 0
    assert chosen.scope_reason == (f"one cut-off for all: no category has the {needed} held-out predictions its own "
                                   "cut-off would need")


def test_auto_keeps_one_cutoff_for_all_when_both_accept_as_much():
    rng = np.random.default_rng(9)
    predicted = np.array(["A", "B"] * 400)
    confidence, correct = rng.uniform(0.5, 1.0, 800), np.ones(800, bool)  # never wrong: both accept everything
    chosen = review_threshold(confidence, correct, 0.99, 0.9, predicted)
    assert chosen.scope == "global" and chosen.scope_reason.startswith(
        "one cut-off for all: it accepts 100% of the held-out predictions, against 100%")


def test_beyond_the_most_candidates_the_cutoff_is_still_as_fine_as_the_data_allow(monkeypatch):
    # 2600 distinct confidences (over MAX_CANDIDATES = 2000 candidate cut-offs), one in ten wrong below 0.75.
    confidence = np.linspace(0.5, 1, 2600)
    correct = ~((confidence < 0.75) & (np.arange(2600) % 10 == 0))
    accepted = (confidence >= guaranteed_cutoff(confidence, correct)).sum()
    assert guaranteed_cutoff(np.linspace(0.5, 1, 2300), np.ones(2300, bool)) == 0.5  # the lowest is still tested
    monkeypatch.setattr("core.calibration.MAX_CANDIDATES", 10**6)  # every distinct confidence a candidate
    every = (confidence >= guaranteed_cutoff(confidence, correct)).sum()
    assert every - 3 <= accepted <= every  # 2000 of the 2371 candidates cost at most 3 listings of 2600
