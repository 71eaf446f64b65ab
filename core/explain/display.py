"""Showing explanations, the one place they are drawn: an attribution's raw photo grid scaled to
[0, 1], mapped back through the squaring onto the photo and blended on it; the description as HTML
with each word's background scaled by its score, and the top words as a table. Every piece of the
seller's text is escaped, so a description holding HTML or script tags is shown as text, never run."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from PIL import Image

from core.escaping import html_text
from core.explain.explanation import WordRelevance
from core.images import to_square

POSITIVE = (15, 118, 110)  # teal: pushes towards the class
NEGATIVE = (190, 18, 60)  # red: pushes away (signed scores, e.g. tfidf contributions)


def scale_to_unit(values: np.ndarray) -> np.ndarray:
    """Non-negative values divided by their maximum (all zeros stay zeros)."""
    values = np.clip(np.nan_to_num(values.astype(np.float32)), 0, None)
    top = values.max(initial=0.0)
    return values / top if top > 0 else values


def photo_heatmap(photo: Image.Image, grid: np.ndarray) -> np.ndarray:
    """An attribution's raw grid over the squared photo the model saw (``Explanation.photo_grid``)
    upsampled bilinearly, cropped back onto ``photo`` and scaled to [0, 1]: one value per pixel."""
    return scale_to_unit(to_square(photo)[1].to_original(grid))


def overlay(photo: Image.Image, values: np.ndarray, opacity: float = 0.5, colormap: str = "turbo") -> Image.Image:
    """The photo with the heatmap blended on top: more relevant means more colour, irrelevant
    areas keep the photo as it is."""
    if values.shape != (photo.height, photo.width):
        raise ValueError(f"heatmap {values.shape} does not match the photo {(photo.height, photo.width)}")
    colours = colormaps[colormap](values)[..., :3]
    alpha = (opacity * values)[..., None]
    base = np.asarray(photo.convert("RGB"), dtype=np.float32) / 255.0
    blended = ((1 - alpha) * base + alpha * colours).clip(0, 1)
    return Image.fromarray((blended * 255).astype(np.uint8))


def photo_with_heatmap(photo: Image.Image, grid: np.ndarray, side: int, opacity: float = 0.5) -> Image.Image:
    """The photo, no larger than ``side`` pixels (what a browser needs), with an attribution's raw grid
    drawn on it: mapped onto the full photo first, so the map is the same whatever size it is shown at."""
    heat = photo_heatmap(photo, grid)
    shown = photo.copy()
    shown.thumbnail((side, side))
    resized = Image.fromarray(heat, mode="F").resize(shown.size)
    return overlay(shown, np.clip(np.asarray(resized), 0, 1), opacity)


def highlighted_html(description: str, words: list[WordRelevance], signed_scores: bool = False,
                     kind: str = "description") -> str:
    """The description with each scored word highlighted (opacity = |score| / max |score|) and its
    score on hover (a share of relevance, or a signed contribution with ``signed_scores``); words the
    model did not see (``seen`` False) are greyed and struck through. ``kind`` names the text (the
    description, or the title, shown in bold)."""
    top = max((abs(w.score) for w in words), default=0.0) or 1.0
    parts: list[str] = []
    cursor = 0
    for word in sorted(words, key=lambda w: w.start):
        parts.append(html_text(description[cursor:word.start]))
        text = html_text(description[word.start:word.end])
        if not word.seen:
            parts.append(f'<span class="unseen" title="not seen: past CLIP\'s 77-token window" '
                         f'style="color:#9ca3af;text-decoration:line-through">{text}</span>')
        else:
            red, green, blue = POSITIVE if word.score >= 0 else NEGATIVE
            alpha = abs(word.score) / top * 0.85
            label = f"{word.score:+.3f}" if signed_scores else f"{word.score:.1%}"
            parts.append(f'<span title="{label}" style="background:rgba({red},{green},{blue},{alpha:.2f});'
                         f'border-radius:3px;padding:0 1px">{text}</span>')
        cursor = word.end
    parts.append(html_text(description[cursor:]))
    weight = "font-weight:600;" if kind == "title" else ""
    return f'<div class="vitrine-{kind}" style="{weight}line-height:1.9">{"".join(parts)}</div>'


def shown_part(text: str, limit: int) -> str:
    """The start of ``text`` shown on screen: at most ``limit`` characters, cut after the last whole word
    (a single word longer than the limit is cut at it)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace() and (space := max(cut.rfind(" "), cut.rfind("\n"))) > 0:
        cut = cut[:space]
    return cut.rstrip()


def top_words(words: list[WordRelevance], count: int = 10) -> pd.DataFrame:
    """The most relevant words (their scores added up over repeats), highest first."""
    return _summed(words).sort_values("score", ascending=False).head(count).reset_index(drop=True)


def words_for(words: list[WordRelevance], count: int = 10) -> pd.DataFrame:
    """The words that counted most for the explained class (signed scores added up over repeats, above
    zero), most for first; empty when none did."""
    summed = _summed(words)
    return summed[summed["score"] > 0].sort_values("score", ascending=False).head(count).reset_index(drop=True)


def words_against(words: list[WordRelevance], count: int = 10) -> pd.DataFrame:
    """The words that counted most against the explained class (signed scores added up over repeats, below
    zero), most against first; empty when none did."""
    summed = _summed(words)
    return summed[summed["score"] < 0].sort_values("score").head(count).reset_index(drop=True)


def _summed(words: list[WordRelevance]) -> pd.DataFrame:
    """One row per word, whatever its case, its scores added up."""
    frame = pd.DataFrame({"word": [w.word.lower() for w in words], "score": [w.score for w in words]})
    if frame.empty:
        return pd.DataFrame({"word": pd.Series(dtype=object), "score": pd.Series(dtype=float)})
    return frame.groupby("word", as_index=False)["score"].sum()
