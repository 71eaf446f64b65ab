"""Batched CLIP embeddings of photos and texts, fast on a laptop CPU, cached on disk.

The fast path (default) runs the Linear layers as int8 with oneDNN's dynamic quantisation, computes
CLIP's activation in place, and pads each text batch only to its longest text (texts sorted by
length); the exact path is plain fp32 with the same batching. ``benchmarks/clip_embed.py`` measures both against the plain loop.
"""
from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers.activations import QuickGELUActivation

from core.clip_tokenizer import CONTEXT_LENGTH
from core.embeddings.cache import EmbeddingCache, text_key
from core.embeddings.photos import CachedEmbeddings, batches
from core.images import to_square
from core.models.clip import LoadedClip
from core.progress import Progress, silent

# Bumped whenever what reaches the model changes (squaring, padding colour, resizing).
PREPROCESSING_VERSION = "square-white-pad/v1"
BATCH_SIZE = 32
TEXT_LENGTH_STEP = 8


class InPlaceQuickGELU(torch.nn.Module):
    """CLIP's activation x * sigmoid(1.702 x), computed as silu(1.702 x) / 1.702 in place.

    Same values to float rounding; one fused kernel instead of three allocating ones (measured
    about a quarter of the int8 model's time here). Inference only: it overwrites its input.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.silu(x.mul_(1.702), inplace=True).mul_(1 / 1.702)


def fast_copy(model: torch.nn.Module) -> torch.nn.Module:
    """An inference-only copy of the model: Linear layers int8 (dynamic quantisation on oneDNN,
    about twice the default engine's speed here) and CLIP's activation computed in place.
    The original stays fp32 for exact runs and explanations."""
    if "onednn" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "onednn"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch announces the move of this API to torchao
        fast = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
    for module in fast.modules():
        if isinstance(getattr(module, "activation_fn", None), QuickGELUActivation):
            module.activation_fn = InPlaceQuickGELU()
    return fast


def clip_pixels(image_processor, images: list[Image.Image]) -> torch.Tensor:
    """The model input for photos: padded to a square, then CLIP's own preprocessing. Embedding and
    explanation both use it, so the explained input is exactly the classified one."""
    return image_processor(images=[to_square(img)[0] for img in images], return_tensors="pt")["pixel_values"]


def _features(output) -> torch.Tensor:
    """``get_*_features`` returns a tensor in transformers 4 and an output object in 5."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def _normalised(vectors: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(vectors.float(), dim=-1).numpy().astype(np.float32)


class ClipEmbedder:
    """L2-normalised image and text embeddings from one CLIP model."""

    def __init__(self, loaded: LoadedClip, fast: bool = True, batch_size: int = BATCH_SIZE):
        self.loaded = loaded
        self.fast = fast
        self.batch_size = batch_size
        self.model = fast_copy(loaded.model) if fast else loaded.model
        self.tokenizer = loaded.processor.tokenizer
        self.image_processor = loaded.processor.image_processor

    @property
    def namespace(self) -> str:
        """What the vectors depend on besides the input: the cache namespace."""
        precision = "int8-dynamic" if self.fast else "fp32"
        return f"{self.loaded.model_id}|{self.loaded.fingerprint}|{precision}|{PREPROCESSING_VERSION}"

    @property
    def dimension(self) -> int:
        return int(self.loaded.model.config.projection_dim)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, cut at CLIP's 77-token window (start and end tokens included)."""
        return self.tokenizer(texts, truncation=True, max_length=CONTEXT_LENGTH)["input_ids"]

    def text_inputs(self, ids: list[list[int]]) -> dict[str, torch.Tensor]:
        """A padded batch: as long as its longest text rounded up to a multiple of 8 (at most 77),
        so only a few shapes occur and oneDNN reuses its compiled kernels."""
        longest = max(len(row) for row in ids)
        length = min(-(-longest // TEXT_LENGTH_STEP) * TEXT_LENGTH_STEP, CONTEXT_LENGTH)
        input_ids = torch.full((len(ids), length), self.tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(ids), length), dtype=torch.long)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = torch.tensor(row)
            attention_mask[i, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    @torch.inference_mode()
    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        """One normalised vector per photo, in order."""
        out = [_normalised(_features(self.model.get_image_features(pixel_values=clip_pixels(self.image_processor, batch))))
               for batch in batches(images, self.batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.dimension), np.float32)

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """One normalised vector per text, in order; texts are batched by length to pad little."""
        ids = self.token_ids(texts)
        order = np.argsort([len(row) for row in ids], kind="stable")
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        for batch in batches(list(order), self.batch_size):
            inputs = self.text_inputs([ids[i] for i in batch])
            vectors[batch] = _normalised(_features(self.model.get_text_features(**inputs)))
        return vectors


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
