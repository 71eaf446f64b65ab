"""The workspace: read from the environment at the edge only, the same folders as before, and handed down."""
import pickle
import re
from pathlib import Path

from core.locations import REPO_ROOT
from core.workspace import Workspace

# Where the environment may be read for the workspace's folders: the command line (the adapter in core/) and
# the modules that define the readers. Pages and benchmarks are adapters outside core/.
READS_ENVIRONMENT = {"core/cli.py", "core/workspace.py", "core/locations.py"}
# Still reading the work or models folder below the adapters, until they are handed their folders (issue 22):
# this list only shrinks.
NOT_YET_HANDED = {"core/scenarios/clip.py", "core/scenarios/densenet.py", "core/models/weights.py"}
READERS = re.compile(r"\b(?:from_environment|work_root|models_root|work_dirs)\(")


def test_no_module_below_the_adapters_reads_the_workspace_from_the_environment():
    readers = {path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "core").rglob("*.py")
               if READERS.search(path.read_text(encoding="utf-8"))}
    assert readers - READS_ENVIRONMENT == NOT_YET_HANDED


def test_the_environment_places_the_workspace_as_it_always_did(monkeypatch, tmp_path):
    for name in ("VITRINE_WORK_DIR", "VITRINE_MODELS_DIR", "VITRINE_REVIEW_DB"):
        monkeypatch.delenv(name, raising=False)
    default = Workspace.from_environment()
    root = REPO_ROOT / "workdir"
    assert (default.root, default.models, default.review_url) == (root, root / "models",
                                                                  f"sqlite:///{root / 'reviews.sqlite'}")
    assert (default.results, default.cache, default.batches, default.versions, default.uploads) == (
        root / "results", root / "cache", root / "batches", root / "versions", root / "uploads")
    monkeypatch.setenv("VITRINE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("VITRINE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("VITRINE_REVIEW_DB", "postgresql+psycopg://db/reviews")
    moved = Workspace.from_environment()  # read when called: the environment of now
    assert (moved.root, moved.models, moved.review_url) == (tmp_path / "work", tmp_path / "models",
                                                            "postgresql+psycopg://db/reviews")
    assert moved.results_store().root == tmp_path / "work" / "results"


def test_a_workspace_travels_to_another_process_whole():
    workspace = Workspace.at(Path("/somewhere/work"))
    assert pickle.loads(pickle.dumps(workspace)) == workspace
    assert workspace.models == Path("/somewhere/work/models") and workspace.reviews_db.name == "reviews.sqlite"
