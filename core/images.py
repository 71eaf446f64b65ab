"""Opening product photos safely and squaring them the way the study does ("mise au carré").

Photos come from sellers: any size, any colour mode, rotated by EXIF, sometimes damaged. Every
failure becomes an ImageError whose message can be shown to the user as it is.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageError, UnsafeImageNameError

# Above this many pixels a photo is refused rather than decoded (PIL's own hard limit is ~179 MP).
MAX_PIXELS = 180_000_000
# Photos are decoded no larger than this on their longer side: enough for 224-px models and display.
DEFAULT_MAX_SIDE = 1024
PAD_COLOUR = (255, 255, 255)




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


def open_image(source: Path | bytes | BinaryIO, max_side: int | None = DEFAULT_MAX_SIDE) -> Image.Image:
    """Decode a photo into an upright 8-bit RGB image no larger than ``max_side``.

    Handles EXIF rotation, CMYK, grey, palette, alpha (composited on white) and 16-bit modes;
    huge JPEGs are decoded at reduced scale. Raises ImageError with a user-facing reason.
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
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ImageError(_too_large(width, height))
            if max_side and img.format == "JPEG":
                img.draft("RGB", (max_side, max_side))
            img.load()
            img = ImageOps.exif_transpose(img)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError("This photo has too many pixels to open safely; please downscale it.") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("This file is not a photo we can read (use JPEG, PNG, WebP, GIF, BMP or TIFF).") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("The photo file is damaged or incomplete and cannot be read.") from exc
    img = _to_rgb(img)
    if max_side and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return img


def _too_large(width: int, height: int) -> str:
    megapixels = width * height / 1e6
    return (
        f"This photo is {width}x{height} pixels ({megapixels:.0f} megapixels); "
        f"the most we accept is {MAX_PIXELS / 1e6:.0f} megapixels. Please downscale it."
    )


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; transparency becomes white, high bit depths are rescaled."""
    if img.mode == "F":
        values = np.asarray(img, dtype=np.float64)
        low, high = values.min(initial=0), values.max(initial=0)
        img = Image.fromarray(((values - low) / max(high - low, 1e-12) * 255).astype(np.uint8), mode="L")
    elif img.mode.startswith("I"):
        values = np.asarray(img, dtype=np.float64)
        if values.max(initial=0) > 255:
            values = values / 257.0  # 16-bit range onto 8-bit
        img = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), mode="L")
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
