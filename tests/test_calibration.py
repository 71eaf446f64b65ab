import numpy as np
import pytest

from core.calibration import coverage, review_threshold


def test_the_cutoff_is_the_lowest_confidence_whose_accepted_predictions_reach_the_target():
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, True, False, True, False])
    assert review_threshold(confidence, correct, 1.0).cutoff == 0.9  # 3 of 3 right; 0.8 would bring a mistake
    assert review_threshold(confidence, correct, 0.8).cutoff == 0.7  # 4 of 5 right down to 0.7
    assert review_threshold(confidence, correct, 0.5).cutoff == 0.6


def test_no_threshold_is_invented_when_the_held_out_predictions_never_reach_the_target():
    threshold = review_threshold(np.array([0.9, 0.8]), np.array([False, True]), 0.99)
    assert threshold.cutoff is None and threshold.needs_review(np.array([1.0, 0.5])).all()


def test_ties_are_accepted_or_refused_together():
    threshold = review_threshold(np.array([0.9, 0.9, 0.5]), np.array([True, False, True]), 0.99)
    assert threshold.cutoff is None  # accepting 0.9 accepts a mistake too


def test_coverage_on_held_out_listings_says_how_many_pass_and_how_often_they_are_right():
    threshold = review_threshold(np.array([0.95, 0.9, 0.5]), np.array([True, True, False]), 0.99)
    measured = coverage(threshold, np.array([0.99, 0.92, 0.91, 0.3]), np.array([True, True, False, True]))
    assert (measured.accepted, measured.share) == (3, 0.75) and measured.precision == pytest.approx(2 / 3)
    assert coverage(threshold, np.array([0.1]), np.array([True])).precision is None


def test_a_prediction_at_the_cutoff_is_accepted_and_the_threshold_says_what_it_was_chosen_on():
    threshold = review_threshold(np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6]),
                                 np.array([True, True, True, False, True, False]), 0.8)
    assert (threshold.target_precision, threshold.cutoff, threshold.held_out) == (0.8, 0.7, 6)
    assert threshold.needs_review(np.array([0.7, 0.69, np.nan])).tolist() == [False, True, True]


def test_a_tie_below_the_top_is_refused_with_its_mistake():
    threshold = review_threshold(np.array([0.9, 0.8, 0.8, 0.5]), np.array([True, True, False, True]), 0.99)
    assert threshold.cutoff == 0.9  # accepting 0.8 would accept the mistake among the two at 0.8


def test_no_held_out_prediction_gives_no_threshold():
    threshold = review_threshold(np.array([]), np.array([]), 0.9)
    assert threshold.cutoff is None and threshold.held_out == 0


def test_without_a_threshold_nothing_is_accepted():
    threshold = review_threshold(np.array([0.9]), np.array([False]), 0.99)
    measured = coverage(threshold, np.array([0.99, 0.5]), np.array([True, True]))
    assert (measured.accepted, measured.share, measured.precision) == (0, 0.0, None)


@pytest.mark.parametrize("target", [0.0, 1.5])
def test_a_target_precision_outside_0_to_1_is_refused(target):
    with pytest.raises(ValueError, match=rf"the target precision must be in \(0, 1\]; got {target}"):
        review_threshold(np.array([0.9]), np.array([True]), target)
