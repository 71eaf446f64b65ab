import io

import numpy as np
import pytest
from PIL import Image

from core import images
from core.errors import ImageError, UnsafeImageNameError
from core.images import open_image, resolve_image_path, to_square


def _bytes(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["../secret.jpg", "/etc/passwd", "a/b.jpg", "..", "", " x.jpg", "a\\..\\b.jpg"])
def test_image_names_that_leave_the_folder_are_refused(tmp_path, name):
    with pytest.raises(UnsafeImageNameError):
        resolve_image_path(tmp_path, name)


def test_plain_image_name_resolves_inside_the_folder(tmp_path):
    assert resolve_image_path(tmp_path, "abc.jpg") == (tmp_path / "abc.jpg").resolve()


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"this is a text file, not a photo", "not a photo"),
])
def test_unusable_files_get_a_clear_message(data, message):
    with pytest.raises(ImageError, match=message):
        open_image(data)


def test_truncated_jpeg_is_reported_as_damaged():
    data = _bytes(Image.effect_noise((256, 256), 50).convert("RGB"), "JPEG")
    with pytest.raises(ImageError, match="damaged or incomplete"):
        open_image(data[: len(data) // 2])


@pytest.mark.parametrize("mode, colour", [("CMYK", (0, 255, 255, 0)), ("L", 128), ("P", 3), ("1", 1)])
def test_colour_modes_become_rgb(mode, colour):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    img = open_image(_bytes(Image.new(mode, (20, 10), colour), fmt))
    assert img.mode == "RGB" and img.size == (20, 10)


def test_cmyk_red_stays_red():
    pixel = np.asarray(open_image(_bytes(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "TIFF")))[4, 4]
    assert pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def test_transparency_becomes_white():
    img = open_image(_bytes(Image.new("RGBA", (8, 8), (255, 0, 0, 0))))
    assert tuple(np.asarray(img)[0, 0]) == (255, 255, 255)


def test_sixteen_bit_grey_is_rescaled_not_clipped():
    values = np.full((8, 8), 32768, dtype=np.uint16)
    img = open_image(_bytes(Image.fromarray(values)))
    assert 120 <= np.asarray(img)[0, 0, 0] <= 135


def test_exif_rotation_is_applied():
    img = Image.new("RGB", (40, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    assert open_image(_bytes(img, "JPEG", exif=exif)).size == (20, 40)


def test_a_hundred_megapixel_jpeg_opens_downscaled():
    data = _bytes(Image.new("L", (12000, 9000), 200), "JPEG", quality=50)
    img = open_image(data, max_side=1024)
    assert max(img.size) == 1024 and img.size[0] > img.size[1]


def test_photos_over_the_pixel_limit_are_refused_with_their_size(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="50x40 pixels"):
        open_image(_bytes(Image.new("RGB", (50, 40))))


def test_square_padding_keeps_the_photo_centred_and_maps_back():
    photo = Image.new("RGB", (100, 40), "red")
    square, frame = to_square(photo)
    assert square.size == (100, 100) and (frame.left, frame.top) == (0, 30)
    pixels = np.asarray(square)
    assert tuple(pixels[10, 50]) == (255, 255, 255) and tuple(pixels[50, 50]) == (255, 0, 0)
    # a 7x7 map whose lit rows cover the photo band maps back onto the whole photo
    grid = np.zeros((100, 100), dtype=np.float32)
    grid[30:70, :] = 1.0
    back = frame.to_original(grid)
    assert back.shape == (40, 100) and back.min() == 1.0


def test_square_map_of_another_size_is_resized_before_cropping():
    _, frame = to_square(Image.new("RGB", (60, 120)))
    grid = np.zeros((7, 7), dtype=np.float32)
    grid[:, :3] = 1.0  # left side of the square is padding, then the photo starts
    back = frame.to_original(grid)
    assert back.shape == (120, 60)
    assert back[:, 0].mean() > back[:, -1].mean()
