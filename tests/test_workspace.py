"""The workspace: read from the environment at the edge only, the same folders as before, and handed down."""
import pickle
import re
from pathlib import Path

from core.locations import REPO_ROOT
from core.scenarios.registry import all_scenarios, scenario_named
from core.workspace import Workspace

# Where the environment may be read for the workspace's folders: the adapters in core/ (the command line, and the
# service's workers, which uvicorn starts on their own) and the module that defines the reader. Pages and
# benchmarks are adapters outside core/.
READS_ENVIRONMENT = {"core/cli.py", "core/service/app.py", "core/workspace.py"}
# The reader, and any direct read of the variables that place the workspace.
READERS = re.compile(r"\bfrom_environment\(|\b(?:WORK_DIR|MODELS_DIR|REVIEW_DB)_ENV\b"
                     r"|(?:environ\.get\(|environ\[|getenv\()\s*[\"']VITRINE_(?:WORK_DIR|MODELS_DIR|REVIEW_DB)")


def test_no_module_below_the_adapters_reads_the_workspace_from_the_environment():
    readers = {path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "core").rglob("*.py")
               if READERS.search(path.read_text(encoding="utf-8"))}
    assert readers == READS_ENVIRONMENT  # the scenarios and the models folder are handed theirs too (issue 22)


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


def test_scenarios_read_their_models_and_caches_in_the_workspace_they_are_built_for(monkeypatch, tmp_path):
    monkeypatch.setenv("VITRINE_WORK_DIR", str(tmp_path / "not-this-one"))
    monkeypatch.setenv("VITRINE_MODELS_DIR", str(tmp_path / "nor-this-one"))
    workspace = Workspace.at(tmp_path / "work", tmp_path / "models")
    scenarios = all_scenarios(workspace)
    for scenario in (scenarios["clip_a"], scenarios["densenet121"], scenario_named("clip_b+greyscale", workspace)):
        assert (scenario.models, scenario.cache) == (tmp_path / "models", tmp_path / "work" / "cache")
        assert str(tmp_path / "models") in scenario.unavailable_reason()  # looked for in the workspace's folder
