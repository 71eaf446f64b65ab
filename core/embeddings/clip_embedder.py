"""Batched CLIP embeddings of photos and texts, fast on a laptop CPU or a GPU, cached on disk.

Every path computes the last layer for the pooled token only (``clip_forward``) and pads each text
batch only to its longest text (texts sorted by length). On the CPU, batches run side by side on the
compute streams; the fast path (default) adds an int8 copy of the model (``clip_fast``), the exact
path is fp32. On a CUDA GPU the fp32 model runs under fp16 autocast in large batches, one after the
other. ``benchmarks/clip_embed.py`` measures the fast path against the plain transformers loop.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2.functional import pil_to_tensor

from core.clip_tokenizer import CONTEXT_LENGTH, window_token_ids
from core.embeddings.cache import EmbeddingCache, text_key
from core.embeddings.clip_fast import fast_copy
from core.embeddings.clip_forward import image_features, text_features
from core.embeddings.photo_embeddings import CachedEmbeddings, batches
from core.embeddings.streams import compute_streams
from core.images import to_square
from core.models.clip import LoadedClip
from core.progress import Progress, silent

# Bumped whenever what reaches the model changes (squaring, padding colour, resizing).
PREPROCESSING_VERSION = "square-white-pad/v1"
BATCH_SIZE = 32
# A GPU is busy only with large batches (an H100 embeds 256 photos in about 13 ms in fp16).
GPU_BATCH_SIZE = 256
# Small text batches pad little once sorted by length, and keep both streams busy.
TEXT_BATCH_SIZE = 16
TEXT_LENGTH_STEP = 8


@dataclass(frozen=True)
class TokenisedText:
    """A text already cut into CLIP token ids (``ClipEmbedder.tokenised``), embedded as the text itself
    would be: batch jobs tokenise the next chunk's texts while the model reads this chunk's."""

    ids: list[int]


def clip_pixels(image_processor, images: list[Image.Image]) -> torch.Tensor:
    """The model input for photos: padded to a square, then CLIP's own preprocessing. Embedding and
    explanation both use it, so the explained input is exactly the classified one."""
    return image_processor(images=[to_square(img)[0] for img in images], return_tensors="pt")["pixel_values"]


def _normalised(vectors: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(vectors.float(), dim=-1).cpu().numpy().astype(np.float32)


class ClipEmbedder:
    """L2-normalised image and text embeddings from one CLIP model, on the CPU or a CUDA GPU."""

    def __init__(self, loaded: LoadedClip, fast: bool = True, batch_size: int | None = None, device: str = "cpu"):
        self.loaded = loaded
        self.device = torch.device(device)
        self.on_gpu = self.device.type == "cuda"
        self.fast = fast and not self.on_gpu  # int8 is the CPU's fast path; a GPU has fp16
        self.batch_size = batch_size or (GPU_BATCH_SIZE if self.on_gpu else BATCH_SIZE)
        if self.on_gpu:
            self.model = loaded.model.to(self.device)
        else:
            self.model = fast_copy(loaded.model) if fast else loaded.model
        self.tokenizer = loaded.processor.tokenizer
        self.image_processor = loaded.processor.image_processor

    @property
    def namespace(self) -> str:
        """What the vectors depend on besides the input: the cache namespace."""
        precision = "fp16-autocast" if self.on_gpu else "int8-dynamic" if self.fast else "fp32"
        return f"{self.loaded.model_id}|{self.loaded.fingerprint}|{precision}|{PREPROCESSING_VERSION}"

    @property
    def dimension(self) -> int:
        return int(self.loaded.model.config.projection_dim)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, cut at CLIP's 77-token window (start and end tokens included)."""
        return window_token_ids(self.tokenizer, texts)

    def tokenised(self, texts: list[str]) -> list[TokenisedText]:
        """The texts as token ids, for ``embed_texts`` to embed later."""
        return [TokenisedText(ids) for ids in self.token_ids(texts)]

    def padded_ids(self, ids: list[list[int]]) -> torch.Tensor:
        """A batch as long as its longest text rounded up to a multiple of 8 (at most 77), so only a
        few shapes occur and oneDNN reuses its compiled kernels. No mask: see ``clip_forward``."""
        longest = max(len(row) for row in ids)
        length = min(-(-longest // TEXT_LENGTH_STEP) * TEXT_LENGTH_STEP, CONTEXT_LENGTH)
        input_ids = torch.full((len(ids), length), self.tokenizer.pad_token_id, dtype=torch.long)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = torch.tensor(row)
        return input_ids

    def embed_images(self, images: list[Image.Image | torch.Tensor]) -> np.ndarray:
        """One normalised vector per photo, in order. On a GPU a photo may also be a square uint8
        tensor already there (``core.classify.photo_decoding``)."""
        if not images:
            return np.zeros((0, self.dimension), np.float32)
        if self.on_gpu:
            return np.concatenate([self._embed_image_batch(batch) for batch in batches(images, self.batch_size)])
        # Batches of a fixed size, whatever the number of streams: int8 scales its activations per batch, so
        # the same listings give the same numbers on any machine and engine.
        return np.concatenate(compute_streams().map(self._embed_image_batch, batches(images, self.batch_size)))

    def embed_texts(self, texts: list[str | TokenisedText]) -> np.ndarray:
        """One normalised vector per text (or text ``tokenised`` beforehand), in order; texts are batched
        by length to pad little."""
        ids = [text.ids if isinstance(text, TokenisedText) else None for text in texts]
        plain = [i for i, row in enumerate(ids) if row is None]
        for i, row in zip(plain, self.token_ids([texts[i] for i in plain]) if plain else []):
            ids[i] = row
        order = np.argsort([len(row) for row in ids], kind="stable")
        groups = list(batches(list(order), self.batch_size if self.on_gpu else TEXT_BATCH_SIZE))
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        padded = [self.padded_ids([ids[i] for i in g]) for g in groups]
        embedded = [self._embed_text_batch(b) for b in padded] if self.on_gpu else \
            compute_streams().map(self._embed_text_batch, padded)
        for group, batch_vectors in zip(groups, embedded):
            vectors[group] = batch_vectors
        return vectors

    def sized_for_model(self, square: torch.Tensor) -> torch.Tensor:
        """A square photo tensor resized where it lies, as the image processor resizes it: done per photo
        in the threads that decode them, it leaves the processor one batched call over photos of one size
        (per photo on the main thread, it held a GPU to about 4,500 listings a second)."""
        processor = self.image_processor
        return processor.resize(square, size=processor.size, resample=processor.resample)

    def _pixels(self, images: list[Image.Image | torch.Tensor]) -> torch.Tensor:
        if not self.on_gpu:
            return clip_pixels(self.image_processor, images)
        squares = [image if isinstance(image, torch.Tensor) else pil_to_tensor(to_square(image)[0]).to(self.device)
                   for image in images]
        # The processor resizes and normalises where the pixels are: on the GPU.
        return self.image_processor(images=squares, device=self.device, return_tensors="pt")["pixel_values"]

    def _precision(self) -> contextlib.AbstractContextManager:
        return torch.autocast("cuda", dtype=torch.float16) if self.on_gpu else contextlib.nullcontext()

    # Each runs on a stream thread, where inference mode must be entered anew (it is per thread).
    @torch.inference_mode()
    def _embed_image_batch(self, images: list[Image.Image | torch.Tensor]) -> np.ndarray:
        with self._precision():
            return _normalised(image_features(self.model, self._pixels(images)))

    @torch.inference_mode()
    def _embed_text_batch(self, input_ids: torch.Tensor) -> np.ndarray:
        with self._precision():
            return _normalised(text_features(self.model, input_ids.to(self.device)))


def embed_text_list(embedder: ClipEmbedder, cache_root: Path, texts: list[str],
                    progress: Progress = silent) -> CachedEmbeddings:
    """Embeddings of texts keyed by their content hash; identical texts are embedded once."""
    cache = EmbeddingCache(cache_root, "text|" + embedder.namespace)
    keys = [text_key(t) for t in texts]
    found = {key: cache.get(key) for key in set(keys)}
    missing = sorted(key for key, vector in found.items() if vector is None)
    first_text = dict(zip(reversed(keys), reversed(texts)))
    for done, batch in enumerate(batches(missing, embedder.batch_size * 4)):
        progress(done * embedder.batch_size * 4, len(missing), "embedding texts")
        for key, vector in zip(batch, embedder.embed_texts([first_text[k] for k in batch])):
            found[key] = vector
            cache.put(key, vector)
    progress(len(missing), len(missing), "embedding texts")
    vectors = np.stack([found[k] for k in keys]) if keys else np.zeros((0, embedder.dimension), np.float32)
    computed = set(missing)
    hits = sum(1 for k in keys if k not in computed)
    return CachedEmbeddings(vectors, np.ones(len(texts), bool), hits, len(computed))
