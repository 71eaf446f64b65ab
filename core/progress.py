"""A progress callback type shared by the CLI (tqdm) and the app (st.progress)."""
from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: int, total: int, message: str) -> None: ...


def silent(done: int, total: int, message: str) -> None:
    """The default: report nothing."""

