"""Showing explanations: the description as HTML with each word's background scaled by its
relevance, and the top words as a table. Every piece of the seller's text is escaped, so a
description holding HTML or script tags is shown as text, never run."""
from __future__ import annotations

import pandas as pd

from core.escaping import html_text
from core.explain.explanation import WordRelevance

POSITIVE = (15, 118, 110)  # teal: pushes towards the class
NEGATIVE = (190, 18, 60)  # red: pushes away (signed scores, e.g. tfidf contributions)


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


def top_words(words: list[WordRelevance], count: int = 10) -> pd.DataFrame:
    """The most relevant words (their scores added up over repeats), highest first."""
    frame = pd.DataFrame({"word": [w.word for w in words], "score": [w.score for w in words]})
    if frame.empty:
        return pd.DataFrame(columns=["word", "score"])
    frame["word"] = frame["word"].str.lower()
    return (frame.groupby("word", as_index=False)["score"].sum().sort_values("score", ascending=False)
            .head(count).reset_index(drop=True))
