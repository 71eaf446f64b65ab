"""A batch's photos as the GPU path reads them: bytes and orientation first, then decoded, upright and
squared where the model runs. Checked here on the CPU (torchvision decodes JPEGs there too) against
the Pillow path every scenario is trained on."""
import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from torchvision.transforms.v2.functional import pil_to_tensor

from core.classify.gpu_photo_decoding import JpegFile, decode_on_device, read_for_gpu
from core.images import open_image, to_square


def _photo(width: int = 90, height: int = 60) -> Image.Image:
    """A photo whose every corner differs, so a wrong turn or mirror shows."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    pixels[..., 1] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    pixels[: height // 3, : width // 3, 2] = 255
    return Image.fromarray(pixels)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_jpeg_decoded_for_the_gpu_is_the_upright_square_pillow_gives(tmp_path, orientation):
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    _photo().save(path, quality=95, exif=exif)
    read = read_for_gpu(path)
    assert isinstance(read, JpegFile) and read.orientation == orientation
    [decoded] = decode_on_device([read], "cpu")
    expected = pil_to_tensor(to_square(open_image(path))[0])
    assert decoded.shape == expected.shape
    assert (decoded.int() - expected.int()).abs().float().mean() < 2  # same picture, two JPEG decoders


def test_photos_the_gpu_cannot_decode_fall_back_to_pillow_or_say_why(tmp_path):
    _photo().save(tmp_path / "photo.png")
    _photo().convert("CMYK").save(tmp_path / "cmyk.jpg")
    good = io.BytesIO()
    _photo().save(good, "JPEG")
    (tmp_path / "good.jpg").write_bytes(good.getvalue())
    (tmp_path / "cut.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) * 3 // 4])  # its header still reads
    (tmp_path / "text.jpg").write_bytes(b"not a photo")
    names = ["good.jpg", "photo.png", "cmyk.jpg", "cut.jpg", "text.jpg", "absent.jpg"]
    read = [read_for_gpu(tmp_path / name) for name in names] + [read_for_gpu(None)]
    assert isinstance(read[0], JpegFile) and isinstance(read[3], JpegFile)
    assert isinstance(read[1], Image.Image) and isinstance(read[2], Image.Image)  # decoded on the CPU at once
    decoded = decode_on_device(read, "cpu")  # one damaged JPEG in the batch: the others still decode
    assert isinstance(decoded[0], torch.Tensor) and decoded[0].shape == (3, 90, 90)
    assert decoded[1] is read[1] and decoded[2] is read[2]
    assert decoded[3] == "The photo file is damaged or incomplete and cannot be read."
    assert decoded[4].startswith("This file is not a photo we can read")
    assert decoded[5] == "The photo file absent.jpg does not exist."
    assert decoded[6] is None


def test_a_grey_jpeg_is_decoded_as_rgb(tmp_path):
    ImageOps.grayscale(_photo(40, 40)).save(tmp_path / "grey.jpg")
    [decoded] = decode_on_device([read_for_gpu(tmp_path / "grey.jpg")], "cpu")
    assert decoded.shape == (3, 40, 40) and torch.equal(decoded[0], decoded[2])
