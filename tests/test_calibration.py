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
