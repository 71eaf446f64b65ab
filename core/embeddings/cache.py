"""A persistent on-disk cache of embedding vectors, one small .npy file per item.

A namespace (model, weights fingerprint, precision, preprocessing version) names a folder; items
are keyed by the content hash of what was embedded, so only what changed is ever recomputed.
Writes are atomic, so two processes filling the same cache never leave half a vector.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np


def text_key(text: str) -> str:
    """The cache key of a text: its content hash."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class EmbeddingCache:
    """Vectors by key under ``root/<namespace hash>/``."""

    def __init__(self, root: Path, namespace: str):
        self.namespace = namespace
        self.folder = root / hashlib.sha256(namespace.encode()).hexdigest()[:16]

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        try:
            return np.load(self._path(key))
        except (OSError, ValueError):
            return None  # absent or damaged: recompute

    def put(self, key: str, vector: np.ndarray) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            np.save(out, np.asarray(vector, dtype=np.float32))
        os.replace(temporary, path)
