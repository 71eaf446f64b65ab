"""Faithfulness, measured: delete the most relevant photo patches or words first and follow the
class probability (deletion curve; a lower area means the explanation found what mattered),
against random order and against the alternative methods."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from PIL import Image

from core.dataset import listing_photo
from core.explain.alternatives import (
    integrated_gradients_word_order,
    occlusion_patch_order,
    raw_attention_orders,
)
from core.explain.clip_relevance import ClipRelevance, word_order
from core.progress import Progress, silent
from core.split import assign_split
from core.text import words_in

STEPS = 8
FAITHFULNESS_TABLE = "faithfulness"  # the name its table is stored under, beside the scenario's result


@dataclass
class DeletionCurve:
    """Class probability after deleting a growing share of the patches or words."""

    fractions: np.ndarray
    probabilities: np.ndarray

    @property
    def area(self) -> float:
        """Area under the curve over fractions 0..1 (lower is better)."""
        return float(np.trapezoid(self.probabilities, self.fractions))


def _counts(total: int, steps: int) -> list[int]:
    return sorted({round(total * k / steps) for k in range(steps + 1)})


def patch_deletion(clip: ClipRelevance, photo: Image.Image, description: str, target: str,
                   order: np.ndarray, steps: int = STEPS) -> DeletionCurve:
    """Delete image patches (set to the normalised mean, i.e. 0) in ``order``, most relevant first."""
    pixels = clip.pixels(photo)
    patch = clip.model.config.vision_config.patch_size
    grid = pixels.shape[-1] // patch
    counts = _counts(grid * grid, steps)
    variants = pixels.repeat(len(counts), 1, 1, 1)
    for row, count in enumerate(counts):
        for index in order[:count]:
            y, x = divmod(int(index), grid)
            variants[row, :, y * patch:(y + 1) * patch, x * patch:(x + 1) * patch] = 0.0
    text = clip.text_embedding([clip.prepare_text(description)]).repeat(len(counts), 1)
    logits = clip.head(clip.image_embedding(variants), text)
    probabilities = torch.softmax(logits, dim=1)[:, clip.head.classes.index(target)].detach().numpy()
    return DeletionCurve(np.array(counts) / (grid * grid), probabilities)


def word_deletion(clip: ClipRelevance, photo: Image.Image | None, description: str, target: str,
                  order: np.ndarray, steps: int = STEPS) -> DeletionCurve:
    """Delete words of the model's text in ``order`` (indices into the description's words)."""
    model_text, spans = words_in(description, clip.prepare_text)
    counts = _counts(len(order), steps)
    texts = []
    for count in counts:
        removed = sorted((spans[i] for i in order[:count]), key=lambda s: s.model_start, reverse=True)
        text = model_text
        for span in removed:
            text = text[:span.model_start] + text[span.model_end:]
        texts.append(text)
    image = None
    if photo is not None:
        image = clip.image_embedding(clip.pixels(photo)).repeat(len(counts), 1)
    logits = clip.head(image, clip.text_embedding(texts))
    probabilities = torch.softmax(logits, dim=1)[:, clip.head.classes.index(target)].detach().numpy()
    return DeletionCurve(np.array(counts) / max(len(order), 1), probabilities)


def faithfulness_table(rows: list[dict]) -> pd.DataFrame:
    """Mean deletion area and spread per modality and method, from one row per listing and method."""
    frame = pd.DataFrame(rows)
    return (frame.groupby(["modality", "method"])["area"].agg(["mean", "std", "count"]).reset_index()
            .sort_values(["modality", "mean"]).reset_index(drop=True))


def measure_listing(clip: ClipRelevance, photo: Image.Image | None, description: str,
                    rng: np.random.Generator, alternatives: bool = True) -> list[dict]:
    """Deletion areas of one listing for every method: gradient-weighted relevance, random order,
    and (``alternatives``) raw attention, occlusion (photo) and Integrated Gradients (words)."""
    [explanation] = clip.relevance([(photo, description)])
    target = explanation.target
    relevance_words = word_order(explanation.words)
    word_orders = {"relevance": relevance_words, "random": rng.permutation(relevance_words)}
    patch_orders: dict[str, np.ndarray] = {}
    if photo is not None:
        grid = explanation.photo_grid.flatten()
        patch_orders = {"relevance": np.argsort(-grid, kind="stable"), "random": rng.permutation(grid.size)}
    if alternatives:
        raw_patches, word_orders["raw_attention"] = raw_attention_orders(clip, photo, description)
        word_orders["integrated_gradients"] = integrated_gradients_word_order(clip, photo, description, target)
        if photo is not None:
            patch_orders["raw_attention"] = raw_patches
            patch_orders["occlusion"] = occlusion_patch_order(clip, photo, description, target)
    rows = [{"modality": "words", "method": method,
             "area": word_deletion(clip, photo, description, target, order).area}
            for method, order in word_orders.items() if len(order)]
    rows += [{"modality": "photo", "method": method,
              "area": patch_deletion(clip, photo, description, target, order).area}
             for method, order in patch_orders.items()]
    return rows


def faithfulness_on_test_split(clip: ClipRelevance, listings: pd.DataFrame, limit: int | None = None,
                               alternatives: bool = True, progress: Progress = silent, seed: int = 0) -> pd.DataFrame:
    """Deletion areas of every method over the test split of ``listings`` (the first ``limit`` listings of
    it), for the CLIP scenario whose relevance engine is ``clip``."""
    listings = listings[assign_split(listings) == "test"]
    if limit is not None:
        listings = listings.head(limit)
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for done, (_, listing) in enumerate(listings.iterrows()):
        progress(done, len(listings), "measuring deletion curves")
        photo = listing_photo(listing)
        for row in measure_listing(clip, photo, listing["description"], rng, alternatives):
            rows.append({"uniq_id": listing["uniq_id"], **row})
    progress(len(listings), len(listings), "measuring deletion curves")
    return pd.DataFrame(rows)
