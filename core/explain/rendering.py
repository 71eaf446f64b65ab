"""Showing explanations: the description as HTML with each word's background scaled by its
relevance, and the top words as a table. Every piece of the seller's text is escaped, so a
description holding HTML or script tags is shown as text, never run."""
from __future__ import annotations

from typing import Protocol

import pandas as pd

from core.escaping import html_text

POSITIVE = (15, 118, 110)  # teal: pushes towards the class
NEGATIVE = (190, 18, 60)  # red: pushes away (signed scores, e.g. tfidf contributions)


class ScoredWord(Protocol):
    start: int
    end: int


def word_score(word) -> float:
    """A scored word's value: a CLIP relevance share, or a signed tfidf contribution."""
    return float(getattr(word, "share", getattr(word, "score", 0.0)))


def highlighted_html(description: str, words: list[ScoredWord]) -> str:
    """The description with each scored word highlighted (opacity = |score| / max |score|) and its
    score on hover; words the model did not see (``seen`` False) are greyed and struck through."""
    top = max((abs(word_score(w)) for w in words), default=0.0) or 1.0
    parts: list[str] = []
    cursor = 0
    for word in sorted(words, key=lambda w: w.start):
        parts.append(html_text(description[cursor:word.start]))
        text = html_text(description[word.start:word.end])
        score = word_score(word)
        if not getattr(word, "seen", True):
            parts.append(f'<span class="unseen" title="not seen: past CLIP\'s 77-token window" '
                         f'style="color:#9ca3af;text-decoration:line-through">{text}</span>')
        else:
            red, green, blue = POSITIVE if score >= 0 else NEGATIVE
            alpha = abs(score) / top * 0.85
            label = f"{score:.1%}" if hasattr(word, "share") else f"{score:+.3f}"
            parts.append(f'<span title="{label}" style="background:rgba({red},{green},{blue},{alpha:.2f});'
                         f'border-radius:3px;padding:0 1px">{text}</span>')
        cursor = word.end
    parts.append(html_text(description[cursor:]))
    return f'<div class="vitrine-description" style="line-height:1.9">{"".join(parts)}</div>'


def top_words(words: list, count: int = 10) -> pd.DataFrame:
    """The most relevant words (their scores added up over repeats), highest first."""
    frame = pd.DataFrame({"word": [getattr(w, "word") for w in words], "score": [word_score(w) for w in words]})
    if frame.empty:
        return pd.DataFrame(columns=["word", "score"])
    frame["word"] = frame["word"].str.lower()
    return (frame.groupby("word", as_index=False)["score"].sum().sort_values("score", ascending=False)
            .head(count).reset_index(drop=True))
