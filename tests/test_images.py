import io
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from core import images
from core.errors import ImageError, UnsafeImageNameError
from core.images import open_image, resolve_image_path, to_square
from core.locations import REPO_ROOT
from tests.conftest import Overlap


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
        open_image(_bytes(Image.new("RGB", (50, 40)), "JPEG"))


def test_formats_decoded_at_full_size_have_a_lower_pixel_cap_that_the_message_states(monkeypatch):
    monkeypatch.setattr(images, "MAX_FULL_DECODE_PIXELS", 1000)
    jpeg, png = Image.new("RGB", (50, 40)), Image.new("RGBA", (50, 40))
    assert open_image(_bytes(jpeg, "JPEG")).size == (50, 40)  # JPEGs decode at reduced scale: the higher cap
    with pytest.raises(ImageError, match="50x40 pixels .* the most we accept for a PNG photo .* is 0 megapixels"):
        open_image(_bytes(png))


# The process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent across exec).
_PEAK_MEMORY_OF_OPENING = """
import re, sys
from pathlib import Path
from core.images import open_image
def peak_mb():
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024
before = peak_mb()
photo = open_image(Path(sys.argv[1]))
print(photo.size[0], photo.size[1], peak_mb() - before)
"""


def test_a_large_transparent_png_costs_one_decoded_copy_not_several(tmp_path):
    side = 7000  # 49 megapixels RGBA: 196 MB decoded; converting it at full size used to cost over 1 GB
    ramp = np.linspace(0, 255, side, dtype=np.float32)
    pixels = np.repeat(((ramp[:, None] + ramp[None, :]) / 2).astype(np.uint8)[:, :, None], 4, axis=2)
    path = tmp_path / "large.png"
    Image.fromarray(pixels, "RGBA").save(path, compress_level=1)
    del pixels
    run = subprocess.run([sys.executable, "-c", _PEAK_MEMORY_OF_OPENING, str(path)], capture_output=True, text=True,
                         cwd=REPO_ROOT, check=True)
    width, height, added_mb = map(int, run.stdout.split())
    assert (width, height) == (1024, 1024)
    assert added_mb < 450, f"opening a 49 MP RGBA PNG added {added_mb} MB"


def test_at_most_two_large_photos_decode_at_once(monkeypatch):
    monkeypatch.setattr(images, "LARGE_DECODE_BYTES", 100)
    monkeypatch.setattr(images, "_LARGE_DECODE_SLOTS", threading.BoundedSemaphore(2))
    overlap = Overlap()
    shrink = images._shrunk

    def slow_shrink(img, max_side):
        with overlap.held():
            return shrink(img, max_side)

    monkeypatch.setattr(images, "_shrunk", slow_shrink)
    data = _bytes(Image.new("RGB", (64, 64), "red"))
    with ThreadPoolExecutor(6) as pool:
        opened = list(pool.map(lambda _: open_image(data), range(6)))
    assert len(opened) == 6 and overlap.most == 2


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
