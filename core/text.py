"""The two ways the study feeds a description to CLIP."""
from __future__ import annotations

from nltk.tokenize import RegexpTokenizer

# Word characters only: punctuation costs CLIP tokens without telling it much (model B's point).
_WORDS = RegexpTokenizer(r"\w+")


def model_a_text(description: str) -> str:
    """Model A: the description exactly as the seller wrote it."""
    return description or ""


def model_b_text(description: str) -> str:
    """Model B: NLTK RegexpTokenizer word tokens joined by single spaces."""
    return " ".join(_WORDS.tokenize(description or ""))


TEXT_PREPARATIONS = {"a": model_a_text, "b": model_b_text}
