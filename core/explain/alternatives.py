"""Other ways to explain a CLIP prediction, for comparison with gradient-weighted relevance:
raw last-layer attention, occlusion of photo patches (Captum), Integrated Gradients on the token
embeddings (Captum). Each gives an order (most relevant first) for the deletion curves."""
from __future__ import annotations

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients, Occlusion
from PIL import Image

from core.clip_tokenizer import CONTEXT_LENGTH
from core.embeddings.clip_forward import text_features
from core.explain.clip_relevance import ClipRelevance, merge_onto_words, word_order
from core.text import words_in


@torch.no_grad()
def raw_attention_orders(clip: ClipRelevance, photo: Image.Image | None,
                         description: str) -> tuple[np.ndarray | None, np.ndarray]:
    """Patches by the last layer's class-token attention, words by the end-of-text token's."""
    model_text, spans = words_in(description, clip.prepare_text)
    tokens = clip.processor.tokenizer(model_text, truncation=True, max_length=CONTEXT_LENGTH,
                                           return_offsets_mapping=True)
    ids = tokens["input_ids"]
    attention = clip.model.text_model(input_ids=torch.tensor([ids]), output_attentions=True).attentions[-1]
    eos = ids.index(clip.processor.tokenizer.eos_token_id, 1)
    token_values = np.zeros(len(ids), np.float32)
    token_values[1:eos] = attention[0].mean(0)[eos, 1:eos].numpy()
    words = merge_onto_words(description, spans, token_values, tokens["offset_mapping"])
    patch_order = None
    if photo is not None:
        vision = clip.model.vision_model(pixel_values=clip.pixels(photo), output_attentions=True)
        patch_order = np.argsort(-vision.attentions[-1][0].mean(0)[0, 1:].numpy(), kind="stable")
    return patch_order, word_order(words)


def occlusion_patch_order(clip: ClipRelevance, photo: Image.Image, description: str, target: str) -> np.ndarray:
    """Patches by how much hiding each one (set to the normalised mean) lowers the class logit."""
    pixels = clip.pixels(photo)
    patch = clip.model.config.vision_config.patch_size
    text = clip.text_embedding([clip.prepare_text(description)])

    def logits(images: torch.Tensor) -> torch.Tensor:
        return clip.head(clip.image_embedding(images), text.repeat(len(images), 1))

    attribution = Occlusion(logits).attribute(pixels, sliding_window_shapes=(3, patch, patch),
                                              strides=(3, patch, patch), baselines=0.0,
                                              target=clip.head.classes.index(target),
                                              perturbations_per_eval=16)
    grid = pixels.shape[-1] // patch
    per_patch = attribution[0].sum(0).reshape(grid, patch, grid, patch)[:, 0, :, 0]
    return np.argsort(-per_patch.flatten().numpy(), kind="stable")


def integrated_gradients_word_order(clip: ClipRelevance, photo: Image.Image | None, description: str,
                                    target: str, steps: int = 16) -> np.ndarray:
    """Words by Integrated Gradients on the token embeddings (baseline: padding tokens)."""
    model_text, spans = words_in(description, clip.prepare_text)
    tokenizer = clip.processor.tokenizer
    tokens = tokenizer(model_text, truncation=True, max_length=CONTEXT_LENGTH, return_offsets_mapping=True)
    ids = torch.tensor([tokens["input_ids"]])
    baseline = torch.full_like(ids, tokenizer.pad_token_id)
    baseline[0, 0], baseline[0, -1] = ids[0, 0], ids[0, -1]
    image = clip.image_embedding(clip.pixels(photo)) if photo is not None else None

    def logits(input_ids: torch.Tensor) -> torch.Tensor:
        text = text_features(clip.model, input_ids)
        return clip.head(None if image is None else image.repeat(len(input_ids), 1), text)

    layer = clip.model.text_model.embeddings.token_embedding
    attribution = LayerIntegratedGradients(logits, layer).attribute(
        ids, baselines=baseline, target=clip.head.classes.index(target), n_steps=steps)
    token_values = attribution[0].sum(-1).clamp(min=0).detach().numpy()
    token_values[0] = token_values[-1] = 0.0
    return word_order(merge_onto_words(description, spans, token_values, tokens["offset_mapping"]))
