"""The `densenet121` scenario, the study's baseline: frozen ImageNet DenseNet121 features of the
photo (extracted once, cached on disk), a 7-way logistic-regression head trained on the train split."""
from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from core.dataset import optional_strings
from core.embeddings.photos import embed_photos
from core.locations import work_dirs
from core.models.densenet import (
    DENSENET_ID,
    IMAGE_SIZE,
    FastFeatureExtractor,
    LoadedDenseNet,
    densenet_available,
    file_fingerprint,
    imagenet_tensor,
    load_densenet,
    missing_densenet_message,
    weights_path,
)
from core.progress import Progress, silent
from core.scenarios.base import Features, Scenario
from core.split import CV_FOLDS, SEED

# Bumped whenever what reaches the network changes (squaring, resizing, normalisation).
PREPROCESSING_VERSION = "square-white-pad/imagenet/v1"
FEATURE_DIMENSION = 1024
C_GRID = np.logspace(-3, 1, 5)


class DenseNetEncoder:
    """Pooled DenseNet121 features of photos, fast path, as a photo encoder for the cache."""

    dimension = FEATURE_DIMENSION

    def __init__(self, loaded: LoadedDenseNet, image_size: int = IMAGE_SIZE, batch_size: int = 16):
        self.loaded = loaded
        self.image_size = image_size
        self.batch_size = batch_size
        self.extract = FastFeatureExtractor(loaded.model)

    @property
    def namespace(self) -> str:
        return f"{DENSENET_ID}|{self.loaded.fingerprint}|{self.image_size}|{PREPROCESSING_VERSION}"

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dimension), np.float32)
        return self.extract(imagenet_tensor(images, self.image_size))


@lru_cache(maxsize=2)
def shared_encoder(weights: str, image_size: int) -> DenseNetEncoder:
    """One encoder per weights file version and resolution for the whole process."""
    return DenseNetEncoder(load_densenet(), image_size=image_size)


class DenseNetScenario(Scenario):
    name = "densenet121"
    description = "DenseNet121 (ImageNet) features of the photo, 7-way logistic-regression head (baseline)"
    version = "1"

    def __init__(self, image_size: int = IMAGE_SIZE):
        self.image_size = image_size

    @property
    def model_id(self) -> str:
        return DENSENET_ID

    def weights_fingerprint(self) -> str:
        if not densenet_available():
            return str(self.image_size)
        return f"{file_fingerprint(weights_path())}|{self.image_size}"

    def unavailable_reason(self) -> str | None:
        return None if densenet_available() else missing_densenet_message()

    def encoder(self) -> DenseNetEncoder:
        return shared_encoder(self.weights_fingerprint(), self.image_size)

    def featurize(self, listings: pd.DataFrame, progress: Progress = silent) -> Features:
        start = time.perf_counter()
        photos = embed_photos(self.encoder(), work_dirs().cache / "densenet",
                              optional_strings(listings["image_path"]), optional_strings(listings["image_sha"]),
                              progress)
        rows = np.flatnonzero(photos.present)
        notes = []
        if len(rows) < len(listings):
            notes.append(f"{len(listings) - len(rows)} listing(s) have no usable photo: left out of this "
                         "image-only scenario")
        return Features(values=photos.vectors[rows], rows=rows, seconds=time.perf_counter() - start,
                        cache_hits=photos.cache_hits, computed=photos.computed, notes=notes)

    def estimator(self, classes: list[str]) -> Pipeline:
        return make_pipeline(
            StandardScaler(),
            LogisticRegressionCV(Cs=C_GRID, cv=StratifiedKFold(CV_FOLDS, shuffle=True, random_state=SEED),
                                 l1_ratios=(0.0,), scoring="neg_log_loss", use_legacy_attributes=False,
                                 max_iter=3000),
        )
