"""AppTest runs of the pages on the reference data (no browser)."""
import json

from streamlit.testing.v1 import AppTest

from core.locations import REPO_ROOT, work_dirs

TIMEOUT = 120


def page(name: str) -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / "pages" / name), default_timeout=TIMEOUT)


def test_results_page_shows_the_tfidf_row_equal_to_the_artefacts():
    app = page("results.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    row = table[table["Scenario"] == "tfidf"].iloc[0]
    [artefact] = list((work_dirs().results / "tfidf").glob("*/result.json"))
    stored = json.loads(artefact.read_text())
    assert row["Test accuracy"] == f"{stored['test_accuracy']:.1%}"
    assert row["Train accuracy"] == f"{stored['train_accuracy']:.1%}"
    assert row["5-fold CV"] == f"{stored['cv_mean']:.1%} ± {stored['cv_std']:.1%}"
    assert app.subheader[0].value == "Scenarios that cannot run here"
    warnings = " ".join(w.value for w in app.warning)
    for name in ("clip_a", "clip_b", "clip_zero_shot"):
        assert f"**{name}**: CLIP weights for openai/clip-vit-base-patch32 are not on this machine" in warnings
    assert app.subheader[1].value.startswith("Confusion matrices")


def test_results_page_without_data_says_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv("VITRINE_DATA_DIR", str(tmp_path / "missing"))
    app = page("results.py").run()
    assert not app.exception
    assert "No product listings were found" in app.error[0].value
    assert "python -m core data import" in app.error[0].value


def test_data_page_lists_the_missing_photos():
    app = page("data.py").run()
    assert not app.exception
    assert app.subheader[0].value == "3 listing(s) without a photo file"
