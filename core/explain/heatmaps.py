"""Heatmaps over photos: scaling relevance to [0, 1] and blending it onto the photo."""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from PIL import Image


def scale_to_unit(values: np.ndarray) -> np.ndarray:
    """Non-negative values divided by their maximum (all zeros stay zeros)."""
    values = np.clip(np.nan_to_num(values.astype(np.float32)), 0, None)
    top = values.max(initial=0.0)
    return values / top if top > 0 else values


def overlay(photo: Image.Image, values: np.ndarray, opacity: float = 0.5, colormap: str = "turbo") -> Image.Image:
    """The photo with the heatmap blended on top: more relevant means more colour, irrelevant
    areas keep the photo as it is."""
    if values.shape != (photo.height, photo.width):
        raise ValueError(f"heatmap {values.shape} does not match the photo {(photo.height, photo.width)}")
    colours = colormaps[colormap](values)[..., :3]
    alpha = (opacity * values)[..., None]
    base = np.asarray(photo.convert("RGB"), dtype=np.float32) / 255.0
    blended = ((1 - alpha) * base + alpha * colours).clip(0, 1)
    return Image.fromarray((blended * 255).astype(np.uint8))
