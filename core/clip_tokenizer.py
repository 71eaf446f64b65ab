"""CLIP's own BPE tokenizer, available offline.

The vocabulary ships inside the ``open_clip_torch`` wheel (OpenAI's original file); from it we
build the same ``transformers`` CLIPTokenizer that ``openai/clip-vit-base-patch32`` uses, without
importing open_clip (slow) or reaching the hub.
"""
from __future__ import annotations

import gzip
import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers.models.clip.tokenization_clip import CLIPTokenizer

CONTEXT_LENGTH = 77  # CLIP's text window, start and end tokens included
_VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
_MERGE_COUNT = 49152 - 256 - 2  # OpenAI's tokenizer uses exactly this many merges
# CLIP splits words at these (and at more), so a text cut at one of them is tokenised as the same tokens
# up to the cut.
_WORD_GAP = re.compile(r"[ \t\n\r]+")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte-to-character table, which CLIP's vocabulary is written in."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def bpe_vocabulary_path() -> Path:
    """The BPE file inside the installed open_clip package."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The open_clip_torch package is not installed; it carries CLIP's vocabulary.")
    return Path(spec.submodule_search_locations[0]) / _VOCAB_FILE


@lru_cache(maxsize=1)
def clip_tokenizer() -> CLIPTokenizer:
    """The openai/clip-vit-base-patch32 tokenizer, built offline from open_clip's vocabulary."""
    # Imported here: transformers takes seconds to import, which commands that count no tokens never pay.
    # From its module directly: a thread-safe import.
    from transformers.models.clip.tokenization_clip import CLIPTokenizer

    with gzip.open(bpe_vocabulary_path(), "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : _MERGE_COUNT + 1]]
    alphabet = list(_bytes_to_unicode().values())
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(tokens)}
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    tokenizer.model_max_length = CONTEXT_LENGTH
    return tokenizer


def token_counts(texts: list[str]) -> list[int]:
    """How many CLIP tokens each text takes, start and end tokens included (77 fit)."""
    if not texts:
        return []
    return [len(ids) for ids in clip_tokenizer()(texts, add_special_tokens=True, verbose=False)["input_ids"]]


def first_words(text: str, words: int) -> str:
    """``text`` up to its ``words``-th gap of spaces, tabs or newlines (all of it when it has fewer)."""
    for count, gap in enumerate(_WORD_GAP.finditer(text), 1):
        if count == words:
            return text[: gap.start()]
    return text


def window_token_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """``tokenizer``'s ids of each text cut at CLIP's 77-token window (start and end tokens included),
    exactly as tokenising the whole text would give them, but read from the text's first words only:
    a seller's description can run to thousands of words, of which CLIP reads a few dozen. A text whose
    first words give fewer tokens than the window holds is tokenised whole."""
    cut = [first_words(text, CONTEXT_LENGTH) for text in texts]
    ids = tokenizer(cut, truncation=True, max_length=CONTEXT_LENGTH)["input_ids"]
    # Every word gives at least one token, so this is rare: the first words were mostly blank marks.
    short = [i for i, row in enumerate(ids) if len(row) < CONTEXT_LENGTH and len(cut[i]) < len(texts[i])]
    if short:
        whole = tokenizer([texts[i] for i in short], truncation=True, max_length=CONTEXT_LENGTH)["input_ids"]
        for i, row in zip(short, whole):
            ids[i] = row
    return ids
