"""Photos decoded on the GPU itself (nvjpeg through torchvision): JPEG bytes are read in worker
threads and decoded in batches on the device, turned upright and padded to a centred white square
there, like ``core.images.to_square``, then resized for the model where the scenario says how; whatever
nvjpeg cannot read is decoded by Pillow on the CPU.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import ExifTags, Image
from torchvision.io import ImageReadMode, decode_jpeg
from torchvision.transforms.v2.functional import pad

from core.classify.photo_decoding import decode_photo
from core.images import PAD_COLOUR

# Larger JPEGs are decoded on the CPU, at reduced scale (``Image.draft``), rather than at full size in
# GPU memory: a chunk of them could otherwise take gigabytes there.
GPU_MAX_PIXELS = 40_000_000

# How to turn pixels decoded as stored upright, per EXIF orientation (what ImageOps.exif_transpose does).
_UPRIGHT: dict[int, Callable[[torch.Tensor], torch.Tensor]] = {
    2: lambda x: x.flip(-1),
    3: lambda x: x.rot90(2, (-2, -1)),
    4: lambda x: x.flip(-2),
    5: lambda x: x.transpose(-2, -1),
    6: lambda x: x.rot90(-1, (-2, -1)),
    7: lambda x: x.rot90(2, (-2, -1)).transpose(-2, -1),
    8: lambda x: x.rot90(1, (-2, -1)),
}


@dataclass(frozen=True)
class JpegFile:
    """A JPEG's bytes, read on the CPU, waiting to be decoded on the GPU."""

    path: Path
    data: torch.Tensor  # uint8, one dimension, on the CPU (nvjpeg reads from there)
    orientation: int  # EXIF orientation, 1 when upright


def read_for_gpu(path: Path | None) -> JpegFile | Image.Image | str | None:
    """A plain RGB or grey JPEG's bytes and orientation (only the header is parsed); any other photo
    (PNG, CMYK JPEG, a very large one, a damaged file) decoded on the CPU as ``decode_photo`` does."""
    if path is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as header:
                suitable = header.format == "JPEG" and header.mode in {"RGB", "L"} \
                    and header.width * header.height <= GPU_MAX_PIXELS
                orientation = int(header.getexif().get(ExifTags.Base.Orientation, 1)) if suitable else 1
        if suitable:
            return JpegFile(path, torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8), orientation)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        pass  # the CPU decoder says what is wrong, in the user's words
    return decode_photo(path)


def decode_on_device(photos: list, device: str | torch.device,
                     finish: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list:
    """The group's photos with every ``JpegFile`` decoded on ``device`` in one batched call, turned
    upright, padded to a centred white square and passed to ``finish`` (when given); a JPEG the GPU
    decoder refuses is decoded by Pillow."""
    jpegs = [i for i, photo in enumerate(photos) if isinstance(photo, JpegFile)]
    decoded = list(photos)
    if not jpegs:
        return decoded
    try:
        images = decode_jpeg([photos[i].data for i in jpegs], mode=ImageReadMode.RGB, device=device)
    except RuntimeError:  # the batched call returns nothing when one photo fails: find it one by one
        images = [_decode_one(photos[i], device) for i in jpegs]
    for i, image in zip(jpegs, images):
        if isinstance(image, torch.Tensor):
            image = square_on_device(upright(image, photos[i].orientation))
            image = finish(image) if finish else image
        decoded[i] = image
    return decoded


def _decode_one(jpeg: JpegFile, device: str | torch.device) -> torch.Tensor | Image.Image | str:
    try:
        return decode_jpeg(jpeg.data, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:
        return decode_photo(jpeg.path)


def upright(image: torch.Tensor, orientation: int) -> torch.Tensor:
    """Decoded pixels (channels, height, width) turned as their EXIF orientation says."""
    turn = _UPRIGHT.get(orientation)
    return turn(image) if turn else image


def square_on_device(image: torch.Tensor) -> torch.Tensor:
    """The photo padded to a centred square with the padding colour, where it lies (never cropped)."""
    height, width = image.shape[-2:]
    side = max(height, width)
    left, top = (side - width) // 2, (side - height) // 2
    if side == width == height:
        return image
    return pad(image, [left, top, side - width - left, side - height - top], fill=list(PAD_COLOUR))


def decode_photos_on(device: str | torch.device, finish: Callable[[torch.Tensor], torch.Tensor] | None = None
                     ) -> Callable[[list[Path | None]], list]:
    """A group decoder for ``device``, run by the worker threads: files read and headers parsed there,
    one batched GPU decode per group (torchvision decodes one batch at a time per process, so the
    threads overlap reading with decoding), then each photo squared and ``finish``-ed where it lies."""
    return lambda paths: decode_on_device([read_for_gpu(path) for path in paths], device, finish)
