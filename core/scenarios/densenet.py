"""The `densenet121` scenario, the study's baseline: frozen ImageNet DenseNet121 features of the
photo (extracted once, cached on disk), a 7-way logistic-regression head trained on the train split.
No augmentation by default (the study's baseline); mirrored photos, or fine-tuning the last dense
block, as options. The weights are read from the workspace's models folder and the features cached in its
cache folder, both given at construction."""
from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageOps
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from core.dataset import optional_strings
from core.embeddings.photo_embeddings import TransformedEncoder, embed_photos, in_grey
from core.errors import NoPhotoError
from core.explain.gradcam import GradCamAttributor
from core.models.densenet import (
    DENSENET_ID,
    IMAGE_SIZE,
    FastFeatureExtractor,
    LoadedDenseNet,
    densenet_available,
    imagenet_tensor,
    load_densenet,
    missing_densenet_message,
    weights_path,
)
from core.models.densenet_finetune import FineTunedDenseNetHead, frozen_part
from core.models.weights import file_fingerprint
from core.progress import Progress, silent
from core.scenarios.base import Features, Scenario, tuned_logistic_regression

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


class MirrorAugmentedHead(ClassifierMixin, BaseEstimator):
    """Trains ``estimator`` on each photo's features and on its mirror image's (twice the examples,
    no new photos); predicts from the photo as it is. Features: [photo | mirrored photo]."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X: np.ndarray, y: np.ndarray):
        half = X.shape[1] // 2
        self.estimator_ = clone(self.estimator).fit(np.vstack([X[:, :half], X[:, half:]]), np.concatenate([y, y]))
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.predict_proba(X[:, : X.shape[1] // 2])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class BlockInputEncoder:
    """What reaches DenseNet's last dense block (the frozen part's output), flattened: the cached
    input of fine-tuning."""

    def __init__(self, encoder: DenseNetEncoder):
        self.frozen = frozen_part(encoder.loaded.model).eval()
        self.image_size = encoder.image_size
        self.batch_size = encoder.batch_size
        with torch.no_grad():
            self.shape = tuple(self.frozen(torch.zeros(1, 3, self.image_size, self.image_size)).shape[1:])
        self.dimension = int(np.prod(self.shape))
        self.namespace = encoder.namespace + "|last-block-input"

    @torch.no_grad()
    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dimension), np.float32)
        return self.frozen(imagenet_tensor(images, self.image_size)).flatten(1).numpy()


@lru_cache(maxsize=2)
def shared_encoder(weights: str, image_size: int, models: Path, cache: Path) -> DenseNetEncoder:
    """One encoder per weights file version, resolution and models folder for the whole process (``cache``:
    where the weights' hash is remembered)."""
    return DenseNetEncoder(load_densenet(models, cache), image_size=image_size)


class DenseNetScenario(Scenario):
    """The baseline (see the module), its weights read from the models folder ``models`` and the photos'
    features cached in the cache folder ``cache``."""

    name = "densenet121"
    description = "DenseNet121 (ImageNet) features of the photo, 7-way logistic-regression head (baseline)"
    version = "2"  # 2: the 5-fold CV reports accuracy (it reported log loss)
    reads_text = False
    explains_words = False

    def __init__(self, models: Path, cache: Path, image_size: int = IMAGE_SIZE, augment: bool = False,
                 fine_tune: bool = False):
        if augment and fine_tune:
            raise ValueError("augmentation and fine-tuning are separate options; pick one")
        self.models = models
        self.cache = cache
        self.image_size = image_size
        self.augment = augment
        self.fine_tune = fine_tune
        self._progress: Progress = silent
        if augment:
            self.description += "; trained with mirrored photos too"
        if fine_tune:
            self.description = ("DenseNet121 (ImageNet), last dense block fine-tuned with the 7-way head "
                                "(early stopping on a validation slice)")

    @property
    def model_id(self) -> str:
        return DENSENET_ID

    def weights_fingerprint(self) -> str:
        mode = "mirror-augmented" if self.augment else "fine-tuned" if self.fine_tune else "plain"
        options = f"{self.image_size}|{mode}"
        if not densenet_available(self.models):
            return options
        return f"{file_fingerprint(weights_path(self.models), self.cache)}|{options}"

    def unavailable_reason(self) -> str | None:
        return None if densenet_available(self.models) else missing_densenet_message(self.models)

    def encoder(self) -> DenseNetEncoder:
        return shared_encoder(self.weights_fingerprint(), self.image_size, self.models, self.cache)

    def featurize(self, listings: pd.DataFrame, progress: Progress = silent) -> Features:
        start = time.perf_counter()
        paths, keys = optional_strings(listings["image_path"]), optional_strings(listings["image_sha"])
        cache = self.cache / "densenet"
        self._progress = progress
        encoder = self._photo_encoder()
        photos = embed_photos(encoder, cache, paths, keys, progress)
        values, hits, computed = photos.vectors, photos.cache_hits, photos.computed
        if self.augment:
            mirrored = embed_photos(self._mirrored_encoder(), cache, paths, keys, progress)
            values = np.hstack([values, mirrored.vectors])
            hits, computed = hits + mirrored.cache_hits, computed + mirrored.computed
        rows = np.flatnonzero(photos.present)
        notes = []
        if len(rows) < len(listings):
            notes.append(f"{len(listings) - len(rows)} listing(s) have no usable photo: left out of this "
                         "image-only scenario")
        return Features(values=values[rows], rows=rows, seconds=time.perf_counter() - start,
                        cache_hits=hits, computed=computed, notes=notes)

    def _photo_encoder(self):
        encoder = BlockInputEncoder(self.encoder()) if self.fine_tune else self.encoder()
        return in_grey(encoder) if self.greyscale else encoder

    def _mirrored_encoder(self) -> TransformedEncoder:
        """The augmentation: the encoder on mirrored photos (in grey too for the greyscale variant), cached apart."""
        encoder = in_grey(self.encoder()) if self.greyscale else self.encoder()
        return TransformedEncoder(encoder, ImageOps.mirror, "mirrored")

    def features_of(self, photos: list[Image.Image | None], names: list[str], descriptions: list[str],
                    specifications: list[str] | None = None) -> np.ndarray:
        if any(photo is None for photo in photos):
            raise NoPhotoError()
        values = self._photo_encoder().embed_images(photos)
        if self.augment:
            values = np.hstack([values, self._mirrored_encoder().embed_images(photos)])
        return values

    def attributor(self, estimator) -> GradCamAttributor:
        return GradCamAttributor(self, estimator)

    def estimator(self, classes: list[str]) -> Pipeline | MirrorAugmentedHead | FineTunedDenseNetHead:
        if self.fine_tune:
            block_input = BlockInputEncoder(self.encoder())
            return FineTunedDenseNetHead(self.encoder().loaded.model, block_input.shape, progress=self._progress)
        head = make_pipeline(
            StandardScaler(),
            tuned_logistic_regression(C_GRID),
        )
        return MirrorAugmentedHead(head) if self.augment else head
