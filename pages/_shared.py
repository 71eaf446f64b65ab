"""What every page shares: the dataset and results store, loaded once, and progress display."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.dataset import Dataset, DatasetError, load_dataset
from core.locations import DataNotFoundError, data_dir, find_csv, work_dirs
from core.store import ResultsStore


@st.cache_data(show_spinner="Loading the listings…")
def _load_dataset(folder: str, csv_modified: float) -> Dataset:
    return load_dataset(Path(folder))


def dataset_or_stop() -> Dataset:
    """The listings, or a clear message and the page stops (no stack trace).

    Loaded once per data folder and CSV version, so an import or an edit of the CSV shows up.
    """
    try:
        folder = data_dir()
        return _load_dataset(str(folder), find_csv(folder).stat().st_mtime)
    except (DataNotFoundError, DatasetError) as exc:
        st.error(str(exc))
        st.stop()


def results_store() -> ResultsStore:
    return ResultsStore(work_dirs().results)


class StreamlitProgress:
    """A progress callback drawing a progress bar with the current step."""

    def __init__(self, label: str):
        self.label = label
        self.bar = st.progress(0.0, text=label)

    def __call__(self, done: int, total: int, message: str) -> None:
        self.bar.progress(min(done / max(total, 1), 1.0), text=f"{self.label}: {message} ({done}/{total})")

    def close(self) -> None:
        self.bar.empty()
