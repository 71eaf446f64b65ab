"""DenseNet121 with torchvision's ImageNet weights: loading from the local models folder,
downloading on a machine with internet, importing a saved state dict, and the fast feature path. The models
folder (``models``) and the cache folder (``cache``, where the weights' hash is remembered) are the
workspace's, handed down by the caller."""
from __future__ import annotations

import copy
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn.utils.fusion import fuse_conv_bn_eval

from core.errors import ModelMissingError
from core.images import square_image
from core.models.weights import file_fingerprint, model_folder
from core.progress import Progress, silent

DENSENET_ID = "densenet121-imagenet1k-v1"
WEIGHTS_FILE = "densenet121.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SIZE = 224
# torchvision's DenseNet121_Weights.IMAGENET1K_V1; its file name carries the hash that is checked.
WEIGHTS_URL = "https://download.pytorch.org/models/densenet121-a639ec97.pth"


def weights_path(models: Path) -> Path:
    """Where the ImageNet weights are kept in the models folder ``models``."""
    return model_folder(DENSENET_ID, models) / WEIGHTS_FILE


def densenet_available(models: Path) -> bool:
    """Whether the weights are in the models folder ``models`` (cheap: no loading)."""
    return weights_path(models).is_file()


def missing_densenet_message(models: Path) -> str:
    """Why the scenario cannot run without the weights in the models folder ``models``, and how to get them."""
    return (
        f"DenseNet121 ImageNet weights are not on this machine (looked for {weights_path(models)}). "
        "With internet: `python -m core models download densenet`. Without: copy torchvision's "
        "densenet121-a639ec97.pth here and run `python -m core models import densenet FILE`."
    )


def _architecture() -> torch.nn.Module:
    from torchvision.models import densenet121

    return densenet121(weights=None)


@dataclass
class LoadedDenseNet:
    """The ImageNet backbone and what identifies its weights."""

    model: torch.nn.Module
    fingerprint: str


def load_densenet(models: Path, cache: Path, path: Path | None = None) -> LoadedDenseNet:
    """The network from a local state dict only: ``path``, else the one in the models folder ``models`` (its
    hash remembered in ``cache``); ModelMissingError (at once) when absent or unusable."""
    path = path or weights_path(models)
    if not path.is_file():
        raise ModelMissingError(missing_densenet_message(models))
    model = _architecture()
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:
        # torch's own text for a file it refuses to unpickle advises loading it unsafely: not repeated here.
        reason = "not a PyTorch weights file" if isinstance(exc, pickle.UnpicklingError) else \
            str(exc).splitlines()[0]
        raise ModelMissingError(f"{path} is not a DenseNet121 state dict ({reason}). "
                                + missing_densenet_message(models)) from exc
    return LoadedDenseNet(model.eval(), file_fingerprint(path, cache))


def download_densenet(models: Path, cache: Path, progress: Progress = silent) -> Path:
    """Fetch torchvision's ImageNet weights (hash-checked) into the models folder ``models`` (needs internet;
    their hash remembered in ``cache``); one file, so ``progress`` hears of its start and its end."""
    staging = weights_path(models).parent / "download"
    progress(0, 1, "downloading the DenseNet121 weights")
    try:
        torch.hub.load_state_dict_from_url(WEIGHTS_URL, model_dir=str(staging),
                                           check_hash=True, progress=True)
    except (OSError, RuntimeError) as exc:
        raise ModelMissingError(f"Could not download the DenseNet121 weights ({str(exc).splitlines()[0]}). "
                                "Check the internet connection, or import a copy with "
                                "`python -m core models import densenet FILE`.") from exc
    downloaded = next(staging.glob("*.pth"))
    installed = import_densenet(downloaded, models, cache, move=True)
    progress(1, 1, "downloaded the DenseNet121 weights")
    return installed


def import_densenet(source: Path, models: Path, cache: Path, move: bool = False) -> Path:
    """Check that ``source`` is a loadable DenseNet121 state dict (its hash remembered in ``cache``), then
    file it in the models folder ``models``."""
    if not source.is_file():
        raise ModelMissingError(f"{source} {'is a folder' if source.is_dir() else 'does not exist'}: give the "
                                "path of the DenseNet121 weights file (densenet121-a639ec97.pth).")
    load_densenet(models, cache, source)
    destination = weights_path(models)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_suffix(".importing")
    (shutil.move if move else shutil.copyfile)(source, temporary)
    temporary.replace(destination)
    return destination


def imagenet_tensor(images: list[Image.Image], size: int = IMAGE_SIZE) -> torch.Tensor:
    """Photos padded to squares, resized, scaled to [0, 1] and ImageNet-normalised (N, 3, size, size)."""
    arrays = np.stack([np.asarray(square_image(img, size), dtype=np.float32) / 255.0 for img in images])
    tensor = torch.from_numpy(arrays).permute(0, 3, 1, 2)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (tensor - mean) / std


def pooled_features(backbone: torch.nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """torchvision's DenseNet head input: ReLU, global average pool, flatten (N, 1024)."""
    maps = torch.nn.functional.relu(backbone.features(pixels))
    return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(maps, 1), 1)


class FastFeatureExtractor:
    """Frozen-backbone features computed the fast way on a CPU, same values as the plain loop to
    float rounding: the stem's and each dense layer's second batch norm folded into the convolution
    before it,
    each transition's 2x2 average pooling moved before its 1x1 convolution (both linear, so they
    commute; the convolution then sees a quarter of the pixels), channels-last memory layout
    (oneDNN's preferred one for convolutions), inference mode, and small batches (DenseNet's
    concatenations stay in cache; benchmarks/densenet_features.py measures the path).
    The network given is copied, not changed: Grad-CAM keeps using it."""

    batch_size = 8

    def __init__(self, backbone: torch.nn.Module):
        from torchvision.models.densenet import _DenseLayer, _Transition

        fast = copy.deepcopy(backbone).eval()
        for layer in fast.modules():
            if isinstance(layer, _DenseLayer):
                layer.conv1 = fuse_conv_bn_eval(layer.conv1, layer.norm2)
                layer.norm2 = torch.nn.Identity()
        fast.features.conv0 = fuse_conv_bn_eval(fast.features.conv0, fast.features.norm0)
        fast.features.norm0 = torch.nn.Identity()
        for name, block in list(fast.features.named_children()):
            if isinstance(block, _Transition):
                setattr(fast.features, name, torch.nn.Sequential(block.norm, block.relu, block.pool, block.conv))
        self.backbone = fast.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def __call__(self, pixels: torch.Tensor) -> np.ndarray:
        out = [pooled_features(self.backbone, batch.contiguous(memory_format=torch.channels_last)).numpy()
               for batch in torch.split(pixels, self.batch_size)]
        return np.concatenate(out)
