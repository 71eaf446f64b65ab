"""Tiny models of the real classes, built from small configs and saved like downloaded weights.

They exercise the real loading and inference code; their numbers mean nothing about CLIP or
DenseNet121 and are never shown as such.
"""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

from core.clip_tokenizer import clip_tokenizer

TINY_CLIP_IMAGE_SIZE = 224  # 7x7 patches of 32 px, like ViT-B/32


def tiny_clip_config() -> CLIPConfig:
    return CLIPConfig(
        text_config=dict(vocab_size=49408, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=77),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=TINY_CLIP_IMAGE_SIZE, patch_size=32),
        projection_dim=16,
    )


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """A randomly initialised tiny CLIP with the real tokenizer and preprocessing, saved to ``folder``."""
    torch.manual_seed(seed)
    model = CLIPModel(tiny_clip_config())
    size = TINY_CLIP_IMAGE_SIZE
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}),
        tokenizer=clip_tokenizer(),
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def save_random_densenet(path: Path, seed: int = 0) -> Path:
    """torchvision's DenseNet121 architecture with random weights, saved as a state dict."""
    from torchvision.models import densenet121

    torch.manual_seed(seed)
    torch.save(densenet121(weights=None).state_dict(), path)
    return path


def monotonic_densenet(seed: int = 0) -> torch.nn.Module:
    """DenseNet121 whose convolutions all have small positive weights: every feature grows with the
    brightness under it, so a bright patch must light up Grad-CAM where it is."""
    from torchvision.models import densenet121

    torch.manual_seed(seed)
    network = densenet121(weights=None).eval()
    for module in network.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.weight.data.uniform_(0, 2 / module.weight[0].numel())
    return network
