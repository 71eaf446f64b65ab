"""CLIP's image and text features, computing the last layer for the pooled token only.

CLIP keeps one token of the last layer: the class token of a photo, the end-of-text token of a text.
Every other token's last-layer output is thrown away, so only its keys and values are computed there:
the same numbers as ``get_image_features`` / ``get_text_features`` (to float rounding) with about 7 %
less work. Text padding needs no mask either: padding comes after the end-of-text token, which the
causal attention never lets it reach.
"""
from __future__ import annotations

import torch
from transformers.masking_utils import create_causal_mask


def _pooled_token_layer(layer: torch.nn.Module, hidden: torch.Tensor, rows: torch.Tensor,
                        key_mask: torch.Tensor | None) -> torch.Tensor:
    """One CLIP encoder layer, output for token ``rows[b]`` of each item ``b`` only: (batch, width)."""
    batch, length, width = hidden.shape
    attention = layer.self_attn
    items = torch.arange(batch, device=hidden.device)
    normed = layer.layer_norm1(hidden)
    query = attention.q_proj(normed[items, rows]).view(batch, attention.num_heads, 1, attention.head_dim)
    keys = attention.k_proj(normed).view(batch, length, attention.num_heads, attention.head_dim).transpose(1, 2)
    values = attention.v_proj(normed).view(batch, length, attention.num_heads, attention.head_dim).transpose(1, 2)
    attended = torch.nn.functional.scaled_dot_product_attention(query, keys, values, attn_mask=key_mask,
                                                                scale=attention.scale)
    hidden_row = hidden[items, rows] + attention.out_proj(attended.reshape(batch, width))
    return hidden_row + layer.mlp(layer.layer_norm2(hidden_row))


def image_features(model: torch.nn.Module, pixel_values: torch.Tensor) -> torch.Tensor:
    """A CLIPModel's projected photo features (not normalised), as ``get_image_features`` gives them."""
    vision = model.vision_model
    hidden = vision.pre_layrnorm(vision.embeddings(pixel_values))
    *layers, last = vision.encoder.layers
    for layer in layers:
        hidden = layer(hidden, None)
    class_token = torch.zeros(hidden.shape[0], dtype=torch.long, device=hidden.device)
    return model.visual_projection(vision.post_layernorm(_pooled_token_layer(last, hidden, class_token, None)))


def end_of_text_positions(text_model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """Where CLIPTextModel pools each text, by its own rule."""
    if text_model.eos_token_id == 2:  # configs older than transformers #24773 pool at the highest id
        return input_ids.argmax(dim=-1)
    return (input_ids == text_model.eos_token_id).int().argmax(dim=-1)


def text_features(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """A CLIPModel's projected text features (not normalised), as ``get_text_features`` gives them.
    ``input_ids`` may be padded after each text's end-of-text token; no attention mask is needed."""
    text = model.text_model
    hidden = text.embeddings(input_ids=input_ids)
    causal = create_causal_mask(config=text.config, inputs_embeds=hidden, attention_mask=None, cache=None)
    *layers, last = text.encoder.layers
    for layer in layers:
        hidden = layer(hidden, causal, is_causal=True)
    rows = end_of_text_positions(text, input_ids)
    seen = (torch.arange(hidden.shape[1], device=hidden.device) <= rows[:, None])[:, None, None, :]
    return model.text_projection(text.final_layer_norm(_pooled_token_layer(last, hidden, rows, seen)))
