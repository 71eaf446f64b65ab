"""Embedding photo files through any photo encoder (CLIP, DenseNet), with the on-disk cache."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision.transforms.v2.functional import rgb_to_grayscale

from core.embeddings.cache import EmbeddingCache
from core.errors import ImageError
from core.images import open_image
from core.progress import Progress, silent


class PhotoEncoder(Protocol):
    """What ``embed_photos`` needs of a model: a cache namespace, a vector size and a batch call."""

    namespace: str
    dimension: int
    batch_size: int

    def embed_images(self, images: list[Image.Image]) -> np.ndarray: ...


def batches(items: list, size: int):
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class CachedEmbeddings:
    """Vectors for a list of inputs, with how many came from the cache."""

    vectors: np.ndarray
    present: np.ndarray  # False where there was nothing to embed (no photo, unreadable photo)
    cache_hits: int
    computed: int


def embed_photos(encoder: PhotoEncoder, cache_root: Path, paths: list[str | None], keys: list[str | None],
                 progress: Progress = silent) -> CachedEmbeddings:
    """Embeddings of photo files keyed by their content hash; zeros where a photo is absent or unreadable."""
    cache = EmbeddingCache(cache_root, "image|" + encoder.namespace)
    vectors = np.zeros((len(paths), encoder.dimension), np.float32)
    present = np.zeros(len(paths), bool)
    todo: list[int] = []
    for i, key in enumerate(keys):
        cached = cache.get(key) if key else None
        if cached is not None:
            vectors[i], present[i] = cached, True
        elif paths[i]:
            todo.append(i)
    hits = int(present.sum())
    for done, batch in enumerate(batches(todo, encoder.batch_size)):
        progress(done * encoder.batch_size, len(todo), "embedding photos")
        images, readable = [], []
        for i in batch:
            try:
                images.append(open_image(Path(paths[i])))
                readable.append(i)
            except ImageError:
                continue  # counted as absent: the scenario notes say how many listings lack a usable photo
        for i, vector in zip(readable, encoder.embed_images(images)):
            vectors[i], present[i] = vector, True
            cache.put(keys[i], vector)
    progress(len(todo), len(todo), "embedding photos")
    return CachedEmbeddings(vectors, present, hits, int(present.sum()) - hits)


def greyscale(photo: Image.Image | torch.Tensor) -> Image.Image | torch.Tensor:
    """The photo in grey, still with three channels (what every photo model reads)."""
    if isinstance(photo, torch.Tensor):  # a photo decoded on the GPU: uint8 (3, height, width)
        return rgb_to_grayscale(photo, num_output_channels=3)
    return ImageOps.grayscale(photo).convert("RGB")


class TransformedEncoder:
    """Any photo encoder on transformed photos (in grey, mirrored), cached apart under ``name``."""

    def __init__(self, encoder: PhotoEncoder, transform, name: str):
        self.encoder = encoder
        self.transform = transform
        self.dimension = encoder.dimension
        self.batch_size = encoder.batch_size
        self.namespace = f"{encoder.namespace}|{name}"

    def embed_images(self, images: list) -> np.ndarray:
        return self.encoder.embed_images([self.transform(img) for img in images])


def in_grey(encoder: PhotoEncoder) -> TransformedEncoder:
    """The encoder on the photos in grey (the study's greyscale variant)."""
    return TransformedEncoder(encoder, greyscale, "greyscale")
