"""The CLIP scenarios: `clip_a` (description as written), `clip_b` (pre-tokenised with NLTK) and
`clip_zero_shot` (no training: similarity to prompts naming the categories). Each reads its model from the
workspace's models folder and caches its embeddings in the workspace's cache folder, both given at
construction."""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegressionCV

from core.dataset import optional_strings
from core.embeddings.clip_embedder import ClipEmbedder, TokenisedText, embed_text_list
from core.embeddings.photo_embeddings import embed_photos, in_grey
from core.explain.clip_relevance import ClipAttributor
from core.models.clip import (
    clip_available,
    configured_clip_id,
    load_clip,
    missing_clip_message,
)
from core.models.weights import folder_fingerprint, model_folder
from core.progress import Progress, silent
from core.scenarios.base import Features, Scenario, tuned_logistic_regression
from core.text import model_a_text, model_b_text

PROMPT_TEMPLATES = (
    "a photo of {}.",
    "a product photo of {}, for sale online.",
    "{}",
    "an online shop listing in the category {}.",
)
# Regularisation strengths tried by the inner cross-validation (train split only).
C_GRID = np.logspace(-1, 3, 5)


@lru_cache(maxsize=2)
def shared_embedder(model_id: str, weights: str, models: Path, cache: Path, fast: bool = True,
                    device: str = "cpu") -> ClipEmbedder:
    """One embedder per model, weights, models folder, precision and device for the whole process (loading
    takes seconds); ``cache``: where the weights' hashes are remembered (``load_clip``).

    ``weights`` (the folder fingerprint) is only part of the key: new weights under the same id load anew.
    """
    return ClipEmbedder(load_clip(model_id, models, cache), fast=fast, device=device)


class ClipScenario(Scenario):
    """Image + text CLIP embeddings, each L2-normalised, concatenated, multinomial logistic regression; the
    model read from the models folder ``models``, the embeddings cached in the cache folder ``cache``."""

    version = "2"  # 2: the 5-fold CV reports accuracy (it reported log loss)
    compares_explanations = True
    uses_gpu = True
    computes_on_streams = True
    device = "cpu"

    def __init__(self, name: str, description: str, prepare_text, models: Path, cache: Path, fast: bool = True):
        self.name = name
        self.description = description
        self.prepare_text = prepare_text
        self.models = models
        self.cache = cache
        self.fast = fast

    @property
    def model_id(self) -> str:
        return configured_clip_id()

    def weights_fingerprint(self) -> str:
        precision = "int8" if self.fast else "fp32"
        if not clip_available(self.model_id, self.models):
            return precision
        return f"{folder_fingerprint(model_folder(self.model_id, self.models), self.cache)}|{precision}"

    def unavailable_reason(self) -> str | None:
        return None if clip_available(self.model_id, self.models) else missing_clip_message(self.model_id,
                                                                                           self.models)

    def embedder(self) -> ClipEmbedder:
        return shared_embedder(self.model_id, self.weights_fingerprint(), self.models, self.cache, self.fast,
                               self.device)

    def photo_finisher(self) -> Callable | None:
        # The grey variant turns photos grey before they are resized, as on the CPU.
        return None if self.greyscale else self.embedder().sized_for_model

    def on_device(self, device: str) -> ClipScenario:
        moved = copy.copy(self)
        moved.device = device
        return moved

    def featurize(self, listings: pd.DataFrame, progress: Progress = silent) -> Features:
        start = time.perf_counter()
        embedder = self.embedder()
        cache_root = self.cache / "clip"
        photos = embed_photos(in_grey(embedder) if self.greyscale else embedder, cache_root,
                              optional_strings(listings["image_path"]), optional_strings(listings["image_sha"]),
                              progress)
        texts = embed_text_list(embedder, cache_root, [self.prepare_text(d) for d in listings["description"]],
                                progress)
        notes = []
        without_photo = int((~photos.present).sum())
        if without_photo:
            notes.append(f"{without_photo} listing(s) have no usable photo: classified on their text alone")
        return Features(
            values=np.hstack([photos.vectors, texts.vectors]),
            rows=np.arange(len(listings)),
            seconds=time.perf_counter() - start,
            cache_hits=photos.cache_hits + texts.cache_hits,
            computed=photos.computed + texts.computed,
            notes=notes,
        )

    def features_of(self, photos: list[Image.Image | None], names: list[str], descriptions: list[str],
                    specifications: list[str] | None = None) -> np.ndarray:
        embedder = self.embedder()
        with_photo = [i for i, photo in enumerate(photos) if photo is not None]
        images = np.zeros((len(photos), embedder.dimension), np.float32)  # no photo: zeros, as in training
        if with_photo:
            encoder = in_grey(embedder) if self.greyscale else embedder
            images[with_photo] = encoder.embed_images([photos[i] for i in with_photo])
        texts = [d if isinstance(d, TokenisedText) else self.prepare_text(d) for d in descriptions]
        return np.hstack([images, embedder.embed_texts(texts)])

    def texts_ahead(self, descriptions: list[str]) -> list[TokenisedText]:
        return self.embedder().tokenised([self.prepare_text(d) for d in descriptions])

    def estimator(self, classes: list[str]) -> LogisticRegressionCV:
        return tuned_logistic_regression(C_GRID)

    def attributor(self, estimator) -> ClipAttributor:
        return ClipAttributor(self, estimator)


class ZeroShotClassifier(ClassifierMixin, BaseEstimator):
    """CLIP zero-shot: scaled cosine of the photo and of the text to each category's prompt
    embedding, the two logits summed. ``fit`` learns nothing; it only records the classes."""

    def __init__(self, class_embeddings: np.ndarray, classes: list[str], logit_scale: float):
        self.class_embeddings = class_embeddings
        self.classes = classes
        self.logit_scale = logit_scale

    def fit(self, X=None, y=None):
        self.classes_ = np.array(self.classes)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        dimension = self.class_embeddings.shape[1]
        image, text = X[:, :dimension], X[:, dimension:]
        return self.logit_scale * (image @ self.class_embeddings.T + text @ self.class_embeddings.T)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.decision_function(X), axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(axis=1)]


def prompts_for(category: str) -> list[str]:
    return [template.format(category.lower()) for template in PROMPT_TEMPLATES]


class ClipZeroShotScenario(ClipScenario):
    trained = False

    def estimator(self, classes: list[str]) -> ZeroShotClassifier:
        embedder = self.embedder()
        cache_root = self.cache / "clip"
        class_embeddings = []
        for category in classes:
            mean = embed_text_list(embedder, cache_root, prompts_for(category)).vectors.mean(axis=0)
            class_embeddings.append(mean / np.linalg.norm(mean))
        logit_scale = float(embedder.loaded.model.logit_scale.detach().exp())
        return ZeroShotClassifier(np.stack(class_embeddings), classes, logit_scale)


def clip_scenarios(models: Path, cache: Path, fast: bool = True) -> list[ClipScenario]:
    """The three CLIP scenarios of the study, reading the model from the models folder ``models`` and caching
    their embeddings in the cache folder ``cache``."""
    return [
        ClipScenario("clip_a", "CLIP image + description as written, logistic regression", model_a_text,
                     models, cache, fast),
        ClipScenario("clip_b", "CLIP image + description pre-tokenised (NLTK), logistic regression", model_b_text,
                     models, cache, fast),
        ClipZeroShotScenario("clip_zero_shot", "CLIP zero-shot: photo and description against category prompts",
                             model_a_text, models, cache, fast),
    ]
