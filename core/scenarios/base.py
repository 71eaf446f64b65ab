"""What a scenario is: a way to turn listings into features, and a scikit-learn classifier on them.

Every scenario is evaluated by the same protocol (core.evaluation), so they differ only here.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegressionCV

from core.explain.base import Attributor
from core.progress import Progress, silent
from core.split import CV_FOLDS, SEED, TRAIN_SHARE, AdaptiveFolds


@dataclass
class Features:
    """Features for some listings, with what it cost to get them.

    ``rows`` are the positions in the listings table that have features (image-only scenarios skip
    listings without a photo); ``values[i]`` belongs to listing ``rows[i]``.
    """

    values: np.ndarray
    rows: np.ndarray
    seconds: float = 0.0
    cache_hits: int = 0
    computed: int = 0
    notes: list[str] = field(default_factory=list)


class Scenario(ABC):
    """One line of the results table."""

    name: str
    description: str
    # Bumped when the scenario's code changes its results, so stored results are not reused.
    version: str = "1"
    trained: bool = True
    # What of a listing the scenario reads: the photo, the text (product name and description), or both.
    reads_photo: bool = True
    reads_text: bool = True
    reads_specifications: bool = False  # the values sellers filled in (core.specifications), besides the text
    # Cheap enough for the app to run it unasked when no stored result exists.
    runs_in_seconds: bool = False
    # What its explanations offer: scored words (the keyword guide reads them), and the alternative
    # methods and deletion curves of `explain faithfulness`.
    explains_words: bool = True
    compares_explanations: bool = False
    # Whether its model can embed on a CUDA GPU when classifying a batch (``on_device``).
    uses_gpu: bool = False
    # Whether on the CPU its model computes each batch on one of torch's compute streams, one core each
    # (``core.embeddings.streams``), so that calls side by side use more cores.
    computes_on_streams: bool = False
    # Whether its model computes in Python holding the interpreter's lock (scikit-learn's text pipeline): the
    # service runs its short calls on the event loop, where a worker thread would only add a hand-over.
    computes_in_python: bool = False
    # The study's retraining variants (core.scenarios.variants): the share of listings trained on, photos
    # read in grey (scenarios that read photos), seller-guide keywords given more weight (text scenarios
    # whose classifier reads the text itself).
    train_share: float = TRAIN_SHARE
    greyscale: bool = False
    keywords: bool = False
    supports_keywords: bool = False
    # The level of the category tree it classifies (core.hierarchy), and whether top-down (the first level,
    # then one classifier per parent: ``top_down_estimator``) rather than one classifier over every path.
    level: int = 1
    top_down: bool = False
    explains_top_down: bool = False  # whether its attributor reads a top-down classifier (the one of the parent)

    @property
    @abstractmethod
    def model_id(self) -> str:
        """The model the scenario uses (hub id, folder or a fixed name), part of the results key."""

    def weights_fingerprint(self) -> str:
        """What identifies the model's weights and precision beyond its id (part of the results key)."""
        return ""

    def unavailable_reason(self) -> str | None:
        """Why the scenario cannot run here, or None when it can."""
        return None

    @abstractmethod
    def featurize(self, listings: pd.DataFrame, progress: Progress = silent) -> Features:
        """Features for the listings, in table order (some rows may be skipped)."""

    @abstractmethod
    def features_of(self, photos: list[Image.Image | None], names: list[str], descriptions: list[str],
                    specifications: list[str] | None = None) -> np.ndarray:
        """Features of listings held in memory (a new listing, a batch to classify), computed exactly
        as ``featurize`` computes them, one row per listing. On a GPU (``on_device``) a photo may also
        be a square uint8 tensor decoded there (``core.classify.photo_decoding``), and a description what
        ``texts_ahead`` made of it. ``specifications``: the values sellers filled in
        (``core.specifications``), read by the scenarios that use them."""

    @abstractmethod
    def estimator(self, classes: list[str]) -> BaseEstimator:
        """A fresh, unfitted classifier with fit / predict_proba on the features."""

    @abstractmethod
    def attributor(self, estimator: BaseEstimator) -> Attributor:
        """The relevance method of this scenario, for its fitted ``estimator`` (``Attributor.attribute``)."""

    def texts_ahead(self, descriptions: list[str]) -> list:
        """The descriptions prepared for the model as far as can be done before it runs (batch jobs do it
        for the next chunk while the model reads this one); ``features_of`` reads them in place of the
        descriptions. By default the descriptions themselves."""
        return descriptions

    def photo_finisher(self) -> Callable | None:
        """What of the model's photo preprocessing can be done one photo at a time, on a square uint8
        tensor where it was decoded (``on_device``); batch jobs run it in their decoding threads. None:
        nothing."""
        return None

    def on_device(self, device: str) -> Scenario:
        """This scenario computing its features on ``device`` (for classifying batches; training and
        explanations stay on the CPU). Scenarios that cannot use a GPU return themselves."""
        return self


def tuned_logistic_regression(strengths: np.ndarray) -> LogisticRegressionCV:
    """Multinomial logistic regression whose regularisation strength (one of ``strengths``) is
    chosen by log loss in a stratified 5-fold cross-validation inside the data it is fitted on
    (the train split only; fewer folds where a category has fewer than 5 listings there)."""
    return LogisticRegressionCV(Cs=strengths, cv=AdaptiveFolds(CV_FOLDS, random_state=SEED),
                                l1_ratios=(0.0,), scoring="neg_log_loss", use_legacy_attributes=False, max_iter=3000)
