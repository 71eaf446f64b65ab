"""The display of explanations: a raw photo grid scaled to [0, 1] and laid back on the photo, the blend
the pages show, and the highlighted words (no model needed)."""
import html
import re

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from core.explain.display import (
    highlighted_html,
    overlay,
    photo_heatmap,
    photo_with_heatmap,
    scale_to_unit,
    shown_part,
    top_words,
    words_against,
    words_for,
)
from core.explain.explanation import WordRelevance


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


def test_a_raw_grid_is_mapped_back_through_the_squaring_and_scaled():
    photo = Image.new("RGB", (4, 2))  # padded to a 4x4 square: one row of padding above and below
    grid = np.array([[0.0, 0.0, 0.0, 0.0],
                     [6.0, 3.0, 0.0, -5.0],
                     [0.0, 0.0, 0.0, 3.0],
                     [9.0, 9.0, 9.0, 9.0]])  # the bottom padding row is hottest: cropped away
    heat = photo_heatmap(photo, grid)
    assert heat.dtype == np.float32
    assert heat.tolist() == [[1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5]]
    coarse = photo_heatmap(Image.new("RGB", (40, 20)), np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert coarse.shape == (20, 40) and coarse.max() == pytest.approx(1.0)  # upsampled to the square's side
    assert coarse[:, :10].max() < 0.3 < 0.7 < coarse[:, 30:].min()  # bilinear, the hot half stays hot


def test_the_shown_photo_is_downsized_with_the_map_laid_on_the_full_photo():
    photo = Image.new("RGB", (300, 100), (128, 128, 128))
    grid = np.zeros((3, 3))
    grid[1, 0] = 1.0  # the middle row of the square is the photo: its left third
    shown = photo_with_heatmap(photo, grid, side=150, opacity=1.0)
    assert shown.size == (150, 50) and photo.size == (300, 100)  # the photo itself is left as it was
    rgb = np.asarray(shown, dtype=float)
    tint = np.abs(rgb - 128).sum(axis=2)
    assert tint[:, :20].mean() > 100 and tint[:, 100:].mean() < 5
    assert photo_with_heatmap(photo, grid, side=600).size == (300, 100)  # never enlarged
    half = np.asarray(photo_with_heatmap(photo, grid, side=150), dtype=float)  # half the colour unless asked
    assert (half == np.asarray(photo_with_heatmap(photo, grid, side=150, opacity=0.5), dtype=float)).all()
    assert np.abs(half - 128).sum(axis=2)[:, :20].mean() < tint[:, :20].mean() * 0.6


def test_words_are_highlighted_by_their_score_and_the_text_escaped():
    text = "<b>steel</b> watch watch strap"
    words = [WordRelevance("steel", 3, 8, 0.5), WordRelevance("watch", 13, 18, 0.2),
             WordRelevance("watch", 19, 24, 0.1), WordRelevance("strap", 25, 30, 0.0, seen=False)]
    shown = highlighted_html(text, words)
    assert "<b>" not in shown and re.sub(r"</?(span|div)[^>]*>", "", shown) == html.escape(text)
    assert re.findall(r"rgba\(15,118,110,([0-9.]+)\)", shown) == ["0.85", "0.34", "0.17"]  # 0.85 x score / top
    assert 'title="50.0%"' in shown and 'class="unseen"' in shown
    signed = highlighted_html(text, [WordRelevance("steel", 3, 8, -0.4), WordRelevance("watch", 13, 18, 0.2)],
                              signed_scores=True, kind="title")
    assert "rgba(190,18,60,0.85)" in signed and 'title="-0.400"' in signed and 'title="+0.200"' in signed
    assert signed.startswith('<div class="vitrine-title" style="font-weight:600;')
    table = top_words(words, count=2)
    assert table.to_dict("list") == {"word": ["steel", "watch"], "score": [0.5, pytest.approx(0.3)]}
    assert top_words([]).empty and list(top_words([]).columns) == ["word", "score"]


def test_a_description_is_shown_in_plain_weight_and_without_scored_words_as_written():
    shown = highlighted_html("<i>cotton</i> towel", [WordRelevance("towel", 14, 19, 0.3)])
    assert shown.startswith('<div class="vitrine-description" style="line-height:1.9">')  # not bold, as a title is
    assert highlighted_html("a & b", []) == '<div class="vitrine-description" style="line-height:1.9">a &amp; b</div>'


def test_top_words_add_up_a_word_whatever_its_case_and_keep_ten_unless_asked():
    words = [WordRelevance("Watch", 0, 5, 0.2), WordRelevance("watch", 6, 11, 0.1), WordRelevance("WATCH", 12, 17, 0.1),
             WordRelevance("strap", 18, 23, 0.3)]
    assert top_words(words).to_dict("list") == {"word": ["watch", "strap"], "score": [pytest.approx(0.4), 0.3]}
    many = [WordRelevance(f"word{i}", 0, 1, i / 100) for i in range(12)]
    assert top_words(many)["word"].tolist() == [f"word{i}" for i in range(11, 1, -1)]  # the ten highest


def test_the_words_for_and_against_a_class_are_those_summed_above_and_below_zero_strongest_first():
    words = [WordRelevance("Plastic", 0, 7, -0.1), WordRelevance("plastic", 8, 15, -0.3),
             WordRelevance("steel", 16, 21, 0.5), WordRelevance("box", 22, 25, -0.2),
             WordRelevance("lid", 26, 29, 0.1), WordRelevance("lid", 30, 33, -0.15)]
    assert words_against(words).to_dict("list") == {"word": ["plastic", "box", "lid"],
                                                    "score": [pytest.approx(-0.4), -0.2, pytest.approx(-0.05)]}
    assert words_against(words, count=1)["word"].tolist() == ["plastic"]
    assert words_for(words).to_dict("list") == {"word": ["steel"], "score": [0.5]}  # lid sums below zero
    assert words_against([WordRelevance("steel", 0, 5, 0.5)]).empty and words_against([]).empty


def test_a_long_text_is_shown_up_to_its_last_whole_word():
    assert shown_part("steel watch strap", 14) == "steel watch"  # "strap" would be cut: left out whole
    assert shown_part("steel watch strap", 11) == "steel watch"  # the limit falls on a space
    assert shown_part("steel watch\nstrap", 13) == "steel watch"
    assert shown_part("stainless", 5) == "stain"  # one word longer than the limit
    assert shown_part("steel", 5) == shown_part("steel", 50) == "steel"
