"""A 2-D map of every listing as a scenario sees it, and how well its features cluster by category.

The features are the ones the scenario's classifier reads (for a text scenario, its fitted vectoriser's
matrix), reduced to at most 50 dimensions (TruncatedSVD for sparse tf-idf, PCA otherwise) and scaled to
unit length, so that distances follow the cosine, the geometry of both tf-idf and CLIP embeddings. The
map is scikit-learn's t-SNE of those features: about 1050 points take seconds, with a fixed seed the same
data gives the same map, and it needs no extra dependency (UMAP would add numba, whose compilation costs
more than the whole t-SNE here). How well the features cluster is the adjusted Rand index of k-means
(one cluster per category) against the labels; it needs no t-SNE.

Both are kept beside the scenario's stored result (``ResultsStore.save_table``), so they are computed
once per scenario, model and data, and new weights or new data never show an old map.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.manifold import TSNE
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize

from core.dataset import Dataset
from core.evaluation import ScenarioResult
from core.progress import Progress, silent
from core.results_store import ResultsStore
from core.runs import fitted_scenario
from core.scenarios.base import Scenario
from core.split import SEED

MAP_METHOD = "t-SNE"
CLUSTERS_TABLE = "kmeans-clusters"  # uniq_id, cluster: k-means of the features, beside the scenario's result
MAP_TABLE = "tsne-map"  # uniq_id, x, y
REDUCED_DIMENSIONS = 50  # what t-SNE and k-means read: the usual reduction before t-SNE
PERPLEXITY = 30.0  # scikit-learn's default; fewer listings get less (t-SNE needs 3 x perplexity < listings)
KMEANS_STARTS = 10
IDS = {"uniq_id": str}  # how the tables are read back: ids as text


@dataclass(frozen=True)
class ListingMap:
    """Every listing the scenario reads, placed on a plane: ``points`` has uniq_id, x, y, its category
    and its k-means cluster; ``agreement`` is the adjusted Rand index of those clusters against the
    categories."""

    points: pd.DataFrame
    agreement: float


def reduced_features(values) -> np.ndarray:
    """``values`` (one row per listing, dense or sparse) reduced to at most ``REDUCED_DIMENSIONS`` and
    scaled to unit length, deterministically."""
    rows, columns = values.shape
    if issparse(values):  # tf-idf: centring would densify it, so TruncatedSVD (latent semantic analysis)
        reducer = TruncatedSVD(min(REDUCED_DIMENSIONS, columns - 1, rows - 1), random_state=SEED)
    else:
        reducer = PCA(min(REDUCED_DIMENSIONS, columns, rows), random_state=SEED)
    return normalize(reducer.fit_transform(values))


def map_coordinates(features: np.ndarray) -> np.ndarray:
    """Two coordinates per row of ``features`` (t-SNE, fixed seed: the same features give the same map)."""
    perplexity = min(PERPLEXITY, (len(features) - 1) / 3)
    # float64 and int64 (k-means below): what the stored tables give back, so a map read back equals the one computed.
    return TSNE(2, perplexity=perplexity, init="pca", random_state=SEED).fit_transform(features).astype(np.float64)


def kmeans_clusters(features: np.ndarray, clusters: int) -> np.ndarray:
    """The k-means cluster of each row (fixed seed and starts, so the same features give the same clusters)."""
    return KMeans(clusters, n_init=KMEANS_STARTS, random_state=SEED).fit_predict(features).astype(np.int64)


def cluster_agreement(features: np.ndarray, labels: np.ndarray) -> float:
    """The adjusted Rand index of k-means with one cluster per label against the labels: 1 when the
    clusters are the categories, about 0 when they match no better than chance."""
    return float(adjusted_rand_score(labels, kmeans_clusters(features, len(np.unique(labels)))))


def scenario_features(scenario: Scenario, dataset: Dataset, store: ResultsStore,
                      progress: Progress = silent) -> tuple[np.ndarray, np.ndarray]:
    """The ids of the listings the scenario reads and their reduced features (``reduced_features``):
    what its classifier reads, computed as for any run (CLIP and DenseNet embeddings come from the cache)."""
    features = scenario.featurize(dataset.listings, progress)
    values = features.values
    if values.dtype == object:  # texts: the classifier's own fitted vectoriser (its pipeline's first steps)
        values = fitted_scenario(scenario, dataset, store, progress).estimator[:-1].transform(values)
    progress(0, 1, "reducing the features")
    return dataset.listings["uniq_id"].to_numpy()[features.rows], reduced_features(values)


def stored_agreement(scenario: Scenario, dataset: Dataset, store: ResultsStore) -> float | None:
    """The adjusted Rand index of the scenario's k-means clusters kept beside its result, or None."""
    clusters = store.load_table(scenario, dataset.fingerprint, CLUSTERS_TABLE, IDS)
    return None if clusters is None else _agreement(clusters, dataset)


def agreement(scenario: Scenario, dataset: Dataset, store: ResultsStore, progress: Progress = silent) -> float:
    """The adjusted Rand index of k-means on the scenario's features (``cluster_agreement``): the stored
    one, else computed from its features and kept."""
    found = stored_agreement(scenario, dataset, store)
    if found is not None:
        return found
    ids, features = scenario_features(scenario, dataset, store, progress)
    return _agreement(_keep_clusters(scenario, dataset, store, ids, features), dataset)


def stored_listing_map(scenario: Scenario, dataset: Dataset, store: ResultsStore) -> ListingMap | None:
    """The scenario's map kept beside its result, or None when it was never computed."""
    points = store.load_table(scenario, dataset.fingerprint, MAP_TABLE, IDS)
    clusters = store.load_table(scenario, dataset.fingerprint, CLUSTERS_TABLE, IDS)
    if points is None or clusters is None:
        return None
    return _listing_map(points, clusters, dataset)


def listing_map(scenario: Scenario, dataset: Dataset, store: ResultsStore, progress: Progress = silent) -> ListingMap:
    """The scenario's map of every listing it reads: the stored one, else computed (features, t-SNE and
    k-means) and kept."""
    found = stored_listing_map(scenario, dataset, store)
    if found is not None:
        return found
    ids, features = scenario_features(scenario, dataset, store, progress)
    progress(0, 1, f"placing {len(ids)} listings with {MAP_METHOD}")
    coordinates = map_coordinates(features)
    points = pd.DataFrame({"uniq_id": ids, "x": coordinates[:, 0], "y": coordinates[:, 1]})
    store.save_table(scenario, dataset.fingerprint, MAP_TABLE, points)
    progress(1, 1, "done")
    return _listing_map(points, _keep_clusters(scenario, dataset, store, ids, features), dataset)


def _keep_clusters(scenario: Scenario, dataset: Dataset, store: ResultsStore, ids: np.ndarray,
                   features: np.ndarray) -> pd.DataFrame:
    clusters = pd.DataFrame({"uniq_id": ids,
                             "cluster": kmeans_clusters(features, len(np.unique(_categories(ids, dataset))))})
    store.save_table(scenario, dataset.fingerprint, CLUSTERS_TABLE, clusters)
    return clusters


def _categories(ids, dataset: Dataset) -> np.ndarray:
    return dataset.listings.set_index("uniq_id")["category"].reindex(ids).to_numpy()


def _agreement(clusters: pd.DataFrame, dataset: Dataset) -> float:
    return float(adjusted_rand_score(_categories(clusters["uniq_id"], dataset), clusters["cluster"]))


def _listing_map(points: pd.DataFrame, clusters: pd.DataFrame, dataset: Dataset) -> ListingMap:
    joined = points.merge(clusters, on="uniq_id", validate="one_to_one")
    joined["category"] = _categories(joined["uniq_id"], dataset)
    return ListingMap(joined, _agreement(clusters, dataset))


def marked_points(found: ListingMap, result: ScenarioResult, issues: pd.DataFrame | None) -> pd.DataFrame:
    """The map's points with what it marks: the scenario's split and prediction for each listing, whether
    that prediction is wrong on the test split (``wrong``), and whether cleanlab counts its label as a
    likely error (``label_issue``, from the ranking of ``core.labels.issues`` when there is one)."""
    # The map has the listings the scenario read, the ones it predicted: every point has a prediction.
    points = found.points.merge(result.predictions[["uniq_id", "split", "true", "predicted"]], on="uniq_id",
                                validate="one_to_one")
    points["wrong"] = (points["split"] == "test") & (points["predicted"] != points["true"])
    flagged = set() if issues is None else set(issues.loc[issues["is_issue"].astype(bool), "uniq_id"])
    points["label_issue"] = points["uniq_id"].isin(flagged)
    return points.drop(columns="true")
