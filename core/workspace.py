"""The workspace: where Vitrine keeps what it makes (results, caches, models, sent batches, data versions,
uploads) and the review store it writes answers to.

It is read from the environment once, at the edge (the command line, the app's pages, a benchmark), with
``Workspace.from_environment()``, and handed down: the actions take the workspace, and the modules below
them take the one folder or store they need, so a test or a second workspace in the same process needs no
patching, and a Ray worker on another node gets the driver's folders with its arguments (the workspace is a
frozen dataclass of paths and a URL: it pickles). The scenarios are built for a workspace
(``core.scenarios.registry``): those that read a model get its models and cache folders. No module below the
adapters reads these folders from the environment; the check in tests/test_workspace.py keeps it so.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.locations import REPO_ROOT
from core.results_store import ResultsStore

WORK_DIR_ENV = "VITRINE_WORK_DIR"
MODELS_DIR_ENV = "VITRINE_MODELS_DIR"
REVIEW_DB_ENV = "VITRINE_REVIEW_DB"


@dataclass(frozen=True)
class Workspace:
    """The folders Vitrine writes to, under ``root``, with the models folder and the review store's URL, which
    may each live elsewhere."""

    root: Path
    models: Path
    review_url: str  # a SQLAlchemy URL

    @classmethod
    def at(cls, root: Path, models: Path | None = None, review_url: str | None = None) -> Workspace:
        """A workspace under ``root``: the models in ``root/models`` and the answers in ``root/reviews.sqlite``
        unless other places are given."""
        return cls(root, models or root / "models", review_url or f"sqlite:///{root / 'reviews.sqlite'}")

    @classmethod
    def from_environment(cls) -> Workspace:
        """The workspace this process was started with: ``$VITRINE_WORK_DIR`` (else ``workdir/`` in the
        repository), ``$VITRINE_MODELS_DIR`` and ``$VITRINE_REVIEW_DB`` moving the models and the answers.
        Read when called, never at import, so a test's environment is the one seen."""
        root = Path(os.environ.get(WORK_DIR_ENV) or REPO_ROOT / "workdir").expanduser()
        models = os.environ.get(MODELS_DIR_ENV)
        return cls.at(root, Path(models).expanduser() if models else None, os.environ.get(REVIEW_DB_ENV))

    @property
    def results(self) -> Path:
        """The results store's folder: each scenario's results and fitted classifier, per data set."""
        return self.root / "results"

    @property
    def cache(self) -> Path:
        """Embeddings, explanations and weight hashes, each in a folder of its own; all can be recomputed."""
        return self.root / "cache"

    @property
    def batches(self) -> Path:
        """The batches sent to the review queue (``core.review.batches``)."""
        return self.root / "batches"

    @property
    def versions(self) -> Path:
        """The corrected data versions (``core.labels.versions``)."""
        return self.root / "versions"

    @property
    def uploads(self) -> Path:
        """The app's classified uploads, one folder each, kept while a page shows them."""
        return self.root / "uploads"

    @property
    def reviews_db(self) -> Path:
        """The default SQLite review store's file (used when ``review_url`` was not given)."""
        return self.root / "reviews.sqlite"

    def results_store(self) -> ResultsStore:
        """The results store in this workspace."""
        return ResultsStore(self.results)
