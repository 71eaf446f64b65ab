"""The map of the listings and how well a scenario's features cluster by category."""
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from core import listing_map as module
from core.listing_map import (
    agreement,
    cluster_agreement,
    listing_map,
    map_coordinates,
    stored_agreement,
    stored_listing_map,
)
from core.scenarios.tfidf import TfidfScenario
from core.workspace import Workspace


def test_kmeans_agreement_is_one_for_separated_clusters_and_about_zero_for_random_labels():
    features, labels = make_blobs(700, n_features=10, centers=7, cluster_std=0.3, center_box=(-20, 20),
                                  random_state=0)
    assert cluster_agreement(features, labels) == pytest.approx(1.0)
    shuffled = np.random.default_rng(0).permutation(labels)  # the same group sizes, no relation to the features
    assert abs(cluster_agreement(features, shuffled)) < 0.02


def test_map_coordinates_are_two_per_listing_and_the_same_for_the_same_features():
    features, _ = make_blobs(90, n_features=20, centers=3, random_state=1)
    first = map_coordinates(features)
    assert first.shape == (90, 2)
    assert np.array_equal(first, map_coordinates(features.copy()))


def test_a_map_is_computed_once_then_read_back_with_its_clusters(vocabularies, monkeypatch):
    store = Workspace.from_environment().results_store()
    scenario = TfidfScenario()
    first = listing_map(scenario, vocabularies, store)
    points = first.points
    assert len(points) == 30 and set(points["uniq_id"]) == set(vocabularies.listings["uniq_id"])
    assert {"007", "Co3"} <= set(points["uniq_id"])  # ids of digits keep their leading zeros
    assert points["category"].tolist() == vocabularies.listings.set_index("uniq_id").loc[points["uniq_id"],
                                                                                         "category"].tolist()
    assert first.agreement == pytest.approx(1.0)  # distinct vocabularies: k-means finds the categories

    def never(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(TfidfScenario, "featurize", never)
    monkeypatch.setattr(module, "map_coordinates", never)
    again = listing_map(scenario, vocabularies, store)
    pd.testing.assert_frame_equal(again.points, points)
    assert again.agreement == first.agreement
    assert agreement(scenario, vocabularies, store) == first.agreement


def test_the_agreement_needs_no_map_and_is_kept(vocabularies, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("t-SNE ran")

    monkeypatch.setattr(module, "map_coordinates", never)
    store = Workspace.from_environment().results_store()
    scenario = TfidfScenario()
    assert stored_agreement(scenario, vocabularies, store) is None
    found = agreement(scenario, vocabularies, store)
    assert found == pytest.approx(1.0)
    assert stored_agreement(scenario, vocabularies, store) == found
    assert stored_listing_map(scenario, vocabularies, store) is None  # the map itself was not computed
