"""Heatmaps over photos: the [0, 1] scale every explanation's map is put on, and the blend the pages show."""
import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from core.explain.heatmaps import overlay, scale_to_unit


def test_relevance_is_scaled_to_its_maximum_with_negatives_and_nans_as_nothing():
    scaled = scale_to_unit(np.array([[-2.0, 0.0], [np.nan, 4.0], [1.0, 2.0]]))
    assert scaled.tolist() == [[0.0, 0.0], [0.0, 1.0], [0.25, 0.5]]
    assert scaled.dtype == np.float32
    assert scale_to_unit(np.array([-1.0, 0.0])).tolist() == [0.0, 0.0]  # nothing relevant: no division by 0
    assert scale_to_unit(np.array([0.2, 0.5])).tolist() == pytest.approx([0.4, 1.0])  # small maps are scaled up
    assert scale_to_unit(np.zeros((0, 7))).shape == (0, 7)  # an empty map stays empty


def test_the_overlay_keeps_cold_pixels_and_colours_hot_ones_by_the_opacity():
    photo = Image.new("RGB", (3, 2), (200, 100, 50))
    heat = np.array([[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]])
    hot = np.array(colormaps["turbo"](1.0)[:3]) * 255
    half = np.array(colormaps["turbo"](0.5)[:3]) * 255
    shown = np.asarray(overlay(photo, heat, opacity=0.8), dtype=float)
    assert shown.shape == (2, 3, 3)
    assert (shown[:, 0] == [200, 100, 50]).all() and (shown[1] == [200, 100, 50]).all()  # no heat, no change
    assert shown[0, 1] == pytest.approx(0.2 * np.array([200, 100, 50]) + 0.8 * hot, abs=1)
    assert shown[0, 2] == pytest.approx(0.6 * np.array([200, 100, 50]) + 0.4 * half, abs=1)  # alpha 0.8 x 0.5
    default = np.asarray(overlay(photo, heat), dtype=float)[0, 1]  # half the colour unless asked
    assert default == pytest.approx(0.5 * np.array([200, 100, 50]) + 0.5 * hot, abs=1)


def test_the_overlay_reads_other_photo_modes_and_another_colormap():
    shown = overlay(Image.new("L", (2, 1), 255), np.array([[1.0, 0.0]]), opacity=1.0, colormap="gray")
    assert shown.mode == "RGB" and np.asarray(shown).tolist() == [[[255, 255, 255], [255, 255, 255]]]
    shown = overlay(Image.new("L", (2, 1), 0), np.array([[1.0, 0.0]]), opacity=1.0, colormap="gray")
    assert np.asarray(shown).tolist() == [[[255, 255, 255], [0, 0, 0]]]


def test_a_heatmap_of_another_size_than_the_photo_is_refused():
    with pytest.raises(ValueError, match=r"heatmap \(3, 2\) does not match the photo \(2, 3\)"):
        overlay(Image.new("RGB", (3, 2)), np.zeros((3, 2)))
