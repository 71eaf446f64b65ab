"""An inference-only copy of a CLIPModel that runs fast on a laptop CPU.

Every Linear layer runs as int8 (dynamic quantisation on oneDNN), the photo's patch embedding
included, and CLIP's activation costs one in-place kernel. The original model stays fp32 for exact
runs and explanations. ``benchmarks/clip_embed.py`` measures the gain and the agreement.
"""
from __future__ import annotations

import copy
import warnings

import torch
from transformers.activations import QuickGELUActivation

QUICK_GELU_SCALE = 1.702  # CLIP's activation: x * sigmoid(1.702 x)


class PatchEmbeddings(torch.nn.Module):
    """CLIP's photo embeddings with the patch convolution run as a Linear layer over flattened patches.

    The convolution's stride equals its kernel, so it is exactly a matrix product per patch; as a
    Linear it can be quantised, and it skips a convolution kernel that is slow for this shape
    (benchmarks/clip_embed.py measures the whole path).
    """

    def __init__(self, embeddings: torch.nn.Module):
        super().__init__()
        conv = embeddings.patch_embedding
        self.patch_size = conv.kernel_size[0]
        self.projection = torch.nn.Linear(conv.in_channels * self.patch_size ** 2, conv.out_channels,
                                          bias=conv.bias is not None)
        with torch.no_grad():
            self.projection.weight.copy_(conv.weight.reshape(conv.out_channels, -1))
            if conv.bias is not None:
                self.projection.bias.copy_(conv.bias)
        self.class_embedding = embeddings.class_embedding
        self.position_embedding = embeddings.position_embedding

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = pixel_values.shape
        size = self.patch_size
        rows, columns = height // size, width // size
        patches = (pixel_values.reshape(batch, channels, rows, size, columns, size)
                   .permute(0, 2, 4, 1, 3, 5).reshape(batch, rows * columns, channels * size * size))
        tokens = torch.cat([self.class_embedding.expand(batch, 1, -1), self.projection(patches)], dim=1)
        return tokens + self.position_embedding.weight


def _fold_quick_gelu(mlp: torch.nn.Module) -> None:
    """x * sigmoid(1.702 x) = silu(1.702 x) / 1.702: the scales move into fc1 and fc2, which leaves a
    plain in-place SiLU (the three allocating kernels of QuickGELU cost about a sixth of the int8 time)."""
    with torch.no_grad():
        mlp.fc1.weight.mul_(QUICK_GELU_SCALE)
        mlp.fc1.bias.mul_(QUICK_GELU_SCALE)
        mlp.fc2.weight.div_(QUICK_GELU_SCALE)
    mlp.activation_fn = torch.nn.SiLU(inplace=True)


def equivalent_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of a CLIPModel rewritten for speed that gives the same features to float rounding:
    patch embedding as a Linear layer, CLIP's activation folded into one in-place SiLU."""
    copied = copy.deepcopy(model)
    copied.vision_model.embeddings = PatchEmbeddings(copied.vision_model.embeddings)
    for module in copied.modules():
        if isinstance(getattr(module, "activation_fn", None), QuickGELUActivation):
            _fold_quick_gelu(module)
    return copied


def fast_copy(model: torch.nn.Module) -> torch.nn.Module:
    """The equivalent copy with every Linear layer int8, for ``clip_forward``'s feature functions."""
    if "onednn" in torch.backends.quantized.supported_engines:
        # Faster here than the default engine: about 2x on two threads, 7 % on the streams.
        torch.backends.quantized.engine = "onednn"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch announces the move of this API to torchao
        return torch.ao.quantization.quantize_dynamic(equivalent_copy(model), {torch.nn.Linear}, dtype=torch.qint8)
