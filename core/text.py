"""The two ways the study feeds a description to CLIP, and where each word of the text fed to the
model sits in the description as written (for highlighting)."""
from __future__ import annotations

from dataclasses import dataclass

from nltk.tokenize import RegexpTokenizer

# Word characters only: punctuation costs CLIP tokens without telling it much (model B's point).
_WORDS = RegexpTokenizer(r"\w+")
# The words tfidf counts (scikit-learn's default pattern): two or more word characters.
TFIDF_TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def model_a_text(description: str) -> str:
    """Model A: the description exactly as the seller wrote it."""
    return description or ""


def model_b_text(description: str) -> str:
    """Model B: NLTK RegexpTokenizer word tokens joined by single spaces."""
    return " ".join(_WORDS.tokenize(description or ""))


def listing_text(product_name: str, description: str) -> str:
    """The text the scenario reads: the product name first (it measured +1 point of test accuracy),
    then the description."""
    return f"{product_name}. {description}" if product_name else description


@dataclass(frozen=True)
class WordSpan:
    """One word: where it is in the description and in the text the model reads."""

    start: int
    end: int
    model_start: int
    model_end: int


def words_in(description: str, prepare) -> tuple[str, list[WordSpan]]:
    """The model's text for ``description`` and its words (NLTK ``\\w+`` tokens) located in both.

    For model A both positions are the same; for model B the words are re-joined by spaces, so
    positions differ and this mapping is what puts relevance back on the description.
    """
    description = description or ""
    model_text = prepare(description)
    spans: list[WordSpan] = []
    cursor = 0
    for start, end in _WORDS.span_tokenize(description):
        word = description[start:end]
        model_start = model_text.index(word, cursor)
        cursor = model_start + len(word)
        spans.append(WordSpan(start, end, model_start, cursor))
    return model_text, spans
