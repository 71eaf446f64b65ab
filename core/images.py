"""Opening product photos safely and squaring them the way the study does ("mise au carré").

Photos come from sellers: any size, any colour mode, rotated by EXIF, sometimes damaged. Every
failure becomes an ImageError whose message can be shown to the user as it is.
"""
from __future__ import annotations

import contextlib
import io
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageError, UnsafeImageNameError

# JPEGs are decoded at 1/2, 1/4 or 1/8 scale (``Image.draft``), so even this many pixels cost little;
# PIL's own hard limit is ~179 MP.
MAX_PIXELS = 180_000_000
# Other formats (PNG, TIFF, WebP, ...) are decoded at full size before they are shrunk: their pixel cap
# keeps one photo under about 1 GB of memory and 5 s of decoding on a laptop core.
MAX_FULL_DECODE_PIXELS = 80_000_000
# The photo files accepted everywhere (uploads, imports), by suffix, and how to say so.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
PHOTO_FORMATS = "JPEG, PNG, WebP, GIF, BMP or TIFF"
# Photos are decoded no larger than this on their longer side: enough for 224-px models and display.
DEFAULT_MAX_SIDE = 1024
PAD_COLOUR = (255, 255, 255)
# Decoding a photo over this many bytes takes one of two large-decode slots, so several big uploads at
# once cannot add up: large decodes never hold more than about 2 GB in one process.
LARGE_DECODE_BYTES = 64 * 2**20
_LARGE_DECODE_SLOTS = threading.BoundedSemaphore(2)
# Bytes per pixel while a photo is decoded at full size: Pillow keeps RGB in 4 bytes, high bit depths
# are brought to 8 bits in numpy, palettes are expanded to RGBA before shrinking.
_DECODE_BYTES_PER_PIXEL = {"1": 2, "L": 1, "P": 5, "I;16": 6, "I;16B": 6, "I;16L": 6, "I": 10, "F": 10}




def resolve_image_path(images_dir: Path, name: str) -> Path:
    """The path of image ``name`` inside ``images_dir``; refuses names that would leave it."""
    if not name or name.strip() != name or "\x00" in name:
        raise UnsafeImageNameError(f"image name {name!r} is empty or malformed")
    candidate = Path(name)
    if candidate.is_absolute() or len(candidate.parts) != 1 or name in {".", ".."} or "\\" in name:
        raise UnsafeImageNameError(f"image name {name!r} points outside the images folder")
    root = images_dir.resolve()
    resolved = (root / candidate).resolve()
    if resolved.parent != root:
        raise UnsafeImageNameError(f"image name {name!r} points outside the images folder")
    return resolved


def open_image(source: Path | bytes | BinaryIO, max_side: int = DEFAULT_MAX_SIDE) -> Image.Image:
    """Decode a photo into an upright 8-bit RGB image no larger than ``max_side``.

    Handles EXIF rotation, CMYK, grey, palette, alpha (composited on white) and 16-bit modes. The
    photo is shrunk as soon as it is decoded (JPEGs while decoding), so only one full-size copy ever
    exists, and large decodes wait for a free slot. Raises ImageError with a user-facing reason.
    """
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise ImageError("The photo file is empty (0 bytes).")
        source = io.BytesIO(source)
    elif isinstance(source, Path):
        if not source.is_file():
            raise ImageError(f"The photo file {source.name} does not exist.")
        if source.stat().st_size == 0:
            raise ImageError("The photo file is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source)
            _check_size(img)
            if img.format == "JPEG":
                img.draft("RGB", (max_side, max_side))
            cost = img.width * img.height * _DECODE_BYTES_PER_PIXEL.get(img.mode, 4)
            with _LARGE_DECODE_SLOTS if cost > LARGE_DECODE_BYTES else contextlib.nullcontext():
                img.load()
                img = _shrunk(img, max_side)
            ImageOps.exif_transpose(img, in_place=True)  # in place: no copy when upright already
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError("This photo has too many pixels to open safely; please downscale it.") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"This file is not a photo we can read; use {PHOTO_FORMATS}.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("The photo file is damaged or incomplete and cannot be read.") from exc
    return _to_rgb(img)


def _check_size(img: Image.Image) -> None:
    """Refuse, before decoding, a photo whose pixels would cost too much memory or time."""
    width, height = img.size
    if img.format == "JPEG":
        limit, which = MAX_PIXELS, "a JPEG photo"
    else:
        limit, which = MAX_FULL_DECODE_PIXELS, f"a {img.format or 'non-JPEG'} photo (JPEGs may be larger)"
    if width * height > limit:
        raise ImageError(f"This photo is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); the "
                         f"most we accept for {which} is {limit / 1e6:.0f} megapixels. Please downscale it.")


def _shrunk(img: Image.Image, max_side: int) -> Image.Image:
    """The decoded photo brought to 8 bits per channel and shrunk to ``max_side`` at once, so the
    full-size copy is dropped before any colour conversion copies it again."""
    img = _eight_bit(img)
    if max(img.size) > max_side:
        if img.mode in {"P", "1"}:  # palette and bilevel photos shrink well only once expanded
            img = img.convert("RGBA" if img.mode == "P" else "L")
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return img


def _eight_bit(img: Image.Image) -> Image.Image:
    """Float and 16/32-bit integer grey as 8-bit grey (floats min-max scaled, the 16-bit range onto 8 bits)."""
    if img.mode == "F":
        values = np.asarray(img, dtype=np.float32)
        low, high = values.min(initial=0), values.max(initial=0)
        return Image.fromarray(((values - low) * (255 / max(high - low, 1e-12))).astype(np.uint8), mode="L")
    if img.mode.startswith("I"):
        values = np.asarray(img)
        if values.max(initial=0) > 255:
            values = values // 257
        return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), mode="L")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any 8-bit PIL mode to RGB; transparency becomes white."""
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in {"RGBA", "LA", "PA", "La", "RGBa"}:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, PAD_COLOUR + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB") if img.mode != "RGB" else img


@dataclass(frozen=True)
class SquareFrame:
    """Where the original photo sits inside its padded square, to map square maps back onto it."""

    width: int
    height: int
    side: int
    left: int
    top: int

    def to_original(self, square_map: np.ndarray) -> np.ndarray:
        """Resize a map over the square to ``side`` pixels and crop it to the original photo."""
        if square_map.shape != (self.side, self.side):
            resized = Image.fromarray(square_map.astype(np.float32), mode="F").resize(
                (self.side, self.side), Image.Resampling.BILINEAR
            )
            square_map = np.asarray(resized, dtype=np.float32)
        return square_map[self.top : self.top + self.height, self.left : self.left + self.width]


def to_square(img: Image.Image, fill: tuple[int, int, int] = PAD_COLOUR) -> tuple[Image.Image, SquareFrame]:
    """Pad a photo to a centred square (never crop: the whole product stays visible)."""
    width, height = img.size
    side = max(width, height)
    left, top = (side - width) // 2, (side - height) // 2
    frame = SquareFrame(width=width, height=height, side=side, left=left, top=top)
    if width == height:
        return img, frame
    square = Image.new("RGB", (side, side), fill)
    square.paste(img, (left, top))
    return square, frame


def square_image(img: Image.Image, size: int) -> Image.Image:
    """The padded square resized to ``size`` x ``size``: the input every image model sees."""
    square, _ = to_square(img)
    return square.resize((size, size), Image.Resampling.BICUBIC)
