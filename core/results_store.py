"""Scenario results on disk, in open formats: predictions as Parquet, everything else as JSON.

Results are keyed by scenario, scenario version, model id and weights, and data fingerprint, so a
re-run with the same inputs reuses them and any change of input computes anew.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import joblib
import pandas as pd

from core.evaluation import ScenarioResult
from core.exports import read_csv, write_csv
from core.scenarios.base import Scenario

PREDICTIONS_FILE = "predictions.parquet"
METADATA_FILE = "result.json"
# The fitted classifier, for explanations; joblib is scikit-learn's own persistence format.
ESTIMATOR_FILE = "estimator.joblib"
# Bumped when what a stored result holds changes (2: out-of-fold confidences for the review cut-off; 3: their
# predicted categories, for per-category cut-offs).
RESULT_FORMAT = "3"


def result_key(scenario: Scenario, data_fingerprint: str) -> str:
    """The folder name for one scenario's results on one dataset."""
    raw = (f"{RESULT_FORMAT}|{scenario.name}|{scenario.version}|{scenario.model_id}|{scenario.weights_fingerprint()}|"
           f"{data_fingerprint}")
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class ResultsStore:
    """A folder of results: ``<root>/<scenario>/<key>/{predictions.parquet,result.json}``."""

    def __init__(self, root: Path):
        self.root = root

    def scenario_names(self) -> list[str]:
        """The names of the scenarios (variants included) that have results stored here, sorted."""
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []

    def folder(self, scenario: Scenario, data_fingerprint: str) -> Path:
        return self.root / scenario.name / result_key(scenario, data_fingerprint)

    def load(self, scenario: Scenario, data_fingerprint: str) -> ScenarioResult | None:
        """The stored result for exactly these inputs, or None."""
        return _read(self.folder(scenario, data_fingerprint))

    def latest(self, scenario_name: str, data_fingerprint: str) -> ScenarioResult | None:
        """The newest stored result of a scenario on this dataset, whatever model it used."""
        found = [r for r in (_read(f) for f in (self.root / scenario_name).glob("*/")) if r is not None
                 and r.data_fingerprint == data_fingerprint]
        return max(found, key=lambda r: r.created_at, default=None)

    def save(self, scenario: Scenario, result: ScenarioResult, estimator: object | None = None) -> Path:
        """Write a result, and the classifier fitted for it when given, atomically (a reader never sees half
        a result)."""
        folder = self.folder(scenario, result.data_fingerprint)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / PREDICTIONS_FILE, lambda p: result.predictions.to_parquet(p, index=False))
        if estimator is not None:
            _atomic_write(folder / ESTIMATOR_FILE, lambda p: joblib.dump(estimator, p))
        _atomic_write(folder / METADATA_FILE,
                      lambda p: Path(p).write_text(json.dumps(result.metadata(), indent=2), encoding="utf-8"))
        return folder

    def table_path(self, scenario: Scenario, data_fingerprint: str, name: str) -> Path:
        """Where a table computed from this result is kept (the keywords, the faithfulness curves):
        beside the result, so that new weights, a new scenario version or new data never show an old one."""
        return self.folder(scenario, data_fingerprint) / f"{name}.csv"

    def save_table(self, scenario: Scenario, data_fingerprint: str, name: str, table: pd.DataFrame) -> Path:
        """Keep a table computed from this result beside it (atomically); returns where."""
        path = self.table_path(scenario, data_fingerprint, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda p: write_csv(table, Path(p)))  # a person may open it in a spreadsheet
        return path

    def load_table(self, scenario: Scenario, data_fingerprint: str, name: str,
                   dtype: dict[str, type] | None = None) -> pd.DataFrame | None:
        """A table kept beside this result, or None when it was never computed (or is unreadable);
        ``dtype`` keeps columns as written (an id of digits stays text, its leading zeros kept)."""
        path = self.table_path(scenario, data_fingerprint, name)
        try:  # a word "null" stays one
            return read_csv(path, keep_default_na=False, dtype=dtype) if path.is_file() else None
        except (OSError, ValueError):
            return None

    def load_estimator(self, scenario: Scenario, data_fingerprint: str):
        """The classifier fitted for these inputs, or None (only ever files this project wrote)."""
        path = self.folder(scenario, data_fingerprint) / ESTIMATOR_FILE
        try:
            return joblib.load(path) if path.is_file() else None
        except (OSError, ValueError, EOFError, AttributeError, ImportError):
            return None


def _read(folder: Path) -> ScenarioResult | None:
    metadata_path, predictions_path = folder / METADATA_FILE, folder / PREDICTIONS_FILE
    if not (metadata_path.is_file() and predictions_path.is_file()):
        return None
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        predictions = pd.read_parquet(predictions_path)
        return ScenarioResult(**metadata, predictions=predictions, reused=True)
    except (OSError, ValueError, TypeError):
        return None  # a damaged or outdated artefact is recomputed, not trusted


def _atomic_write(path: Path, write) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; results are read like any other file
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
