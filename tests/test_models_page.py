"""The Models page: what the models folder holds, getting a missing model, running what became runnable."""
import pytest
from streamlit.testing.v1 import AppTest

from core.errors import ModelMissingError
from core.locations import REPO_ROOT
from core.models import clip
from core.models.inventory import model_states
from core.workspace import Workspace
from tests.conftest import shown
from tests.tiny_models import save_tiny_clip


def _page() -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / "pages" / "models.py"), default_timeout=180)


@pytest.fixture
def tiny_clip_id(monkeypatch):
    monkeypatch.setenv("VITRINE_CLIP_MODEL", "tiny-models-page")
    return "tiny-models-page"


def test_missing_models_are_listed_and_a_failed_download_says_why(small_data_dir, tiny_clip_id, monkeypatch):
    def offline(model_id, models, progress):
        raise ModelMissingError(f"Could not download {model_id} from the Hugging Face hub (no network).")

    monkeypatch.setattr(clip, "download_clip", offline)
    app = _page().run()
    assert not app.exception
    table = app.dataframe[0].value
    assert table.set_index("kind")["state"].to_dict() == {"clip": "missing", "densenet": "missing"}
    assert not any(str(REPO_ROOT) in where for where in table["where"])  # no server path on the page
    next(b for b in app.button if b.key == "download-clip").click().run()
    assert not app.exception
    assert "Getting tiny-models-page cannot be done: Could not download tiny-models-page" in shown(app.warning[0].value)


def test_an_imported_model_is_present_and_its_scenarios_run_from_the_page(small_data_dir, tiny_clip_id, tmp_path):
    app = _page().run()
    app.text_input(key="import-clip").input(str(tmp_path / "nowhere")).run()
    next(b for b in app.button if b.key == "import-button-clip").click().run()
    assert "nowhere does not exist" in shown(app.warning[0].value)  # a wrong folder: said, nothing changed
    app.text_input(key="import-clip").input(str(save_tiny_clip(tmp_path / "tiny"))).run()
    next(b for b in app.button if b.key == "import-button-clip").click().run()
    assert not app.exception
    assert shown(app.success[0].value) == "tiny-models-page is in place."
    workspace = Workspace.from_environment()
    [state] = [s for s in model_states(workspace.models, workspace.cache) if s.kind == "clip"]
    assert state.state == "present" and len(state.fingerprint) == 16
    assert app.dataframe[0].value.set_index("kind").at["clip", "fingerprint"] == state.fingerprint
    run = next(b for b in app.button if b.label == "Run it" or b.label.startswith("Run these "))
    assert "clip_a" in shown(next(c.value for c in app.caption if "can run" in c.value or "no result" in c.value))
    run.click().run()
    assert not app.exception
    assert not [b for b in app.button if b.label == "Run it" or b.label.startswith("Run these ")]  # all ran


def test_a_damaged_checkpoint_is_named_damaged_without_loading_it(tiny_clip_id, tmp_path):
    workspace = Workspace.from_environment()
    folder = clip.import_clip(save_tiny_clip(tmp_path / "tiny"), tiny_clip_id, workspace.models)
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken")
    [state] = [s for s in model_states(workspace.models, workspace.cache) if s.kind == "clip"]
    assert state.state == "damaged" and "model.safetensors is damaged" in state.detail
