"""The Map of the listings page (AppTest, no browser), on the sample shipped with Vitrine: 140 listings with
photos, so the map takes seconds."""
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from core import listing_map
from core.actions.explain import ScenarioExplanations
from core.dataset import listing_photo, load_dataset
from core.escaping import chart_text
from core.explain.explanation import Explanation
from core.images import to_square
from core.labels.issues import LABEL_ISSUES_TABLE
from core.leaderboard import best_scenario
from core.locations import SAMPLE_DATA_DIR
from core.runs import run_scenario
from core.scenarios.tfidf import TfidfScenario
from core.scenarios.tfidf_specs import TfidfSpecsScenario
from core.workspace import Workspace
from pages._shared import display_size
from tests.test_app_pages import page


@pytest.fixture(scope="module")
def sample_results(tmp_path_factory) -> dict:
    """A work folder holding tfidf and tfidf_specs runs on the sample, and those results by name."""
    work = tmp_path_factory.mktemp("work-map")
    sample = load_dataset(SAMPLE_DATA_DIR)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VITRINE_WORK_DIR", str(work))
        store = Workspace.from_environment().results_store()
        results = {s.name: run_scenario(s, sample, store) for s in (TfidfScenario(), TfidfSpecsScenario())}
    return {"work": work, "results": results, "dataset": sample}


@pytest.fixture
def on_sample(sample_results, monkeypatch) -> dict:
    monkeypatch.setenv("VITRINE_DATA_DIR", str(SAMPLE_DATA_DIR))
    monkeypatch.setenv("VITRINE_WORK_DIR", str(sample_results["work"]))
    return sample_results


def _figure(app: AppTest) -> dict:
    return json.loads(app.get("plotly_chart")[0].proto.spec)


def _traces(app: AppTest) -> dict[str, dict]:
    return {trace["name"]: trace for trace in _figure(app)["data"]}


def _click(app: AppTest, uniq_id: str) -> AppTest:
    """Select one point of the map as a click in the browser does. AppTest has no way to select chart points,
    so the chart's selection goes with the other widgets' states, as the browser sends it."""
    states = app._tree.get_widget_states()
    state = states.widgets.add()
    state.id = app.get("plotly_chart")[0].proto.id
    state.string_value = json.dumps({"selection": {"points": [{"customdata": [uniq_id, ""]}], "point_indices": [0],
                                                   "box": [], "lasso": []}})
    return app._run(states)


def test_map_page_draws_every_listing_by_category_with_the_mistakes_marked(on_sample):
    app = page("map.py").run()
    assert not app.exception
    results, dataset = on_sample["results"], on_sample["dataset"]
    assert app.selectbox[0].value == best_scenario(results)
    app.selectbox[0].select("tfidf").run()
    assert not app.exception
    traces = _traces(app)
    by_category = [traces[chart_text(category)] for category in dataset.categories]
    assert sum(len(trace["customdata"]) for trace in by_category) == len(dataset.listings)
    for category, trace in zip(dataset.categories, by_category):
        labelled = set(dataset.listings.loc[dataset.listings["category"] == category, "uniq_id"])
        assert {point[0] for point in trace["customdata"]} == labelled
    mistakes = results["tfidf"].misclassified()
    wrong = set(mistakes.loc[mistakes["split"] == "test", "uniq_id"])
    [marked] = [trace for name, trace in traces.items() if name.startswith("Wrong on the test split")]
    assert marked["name"] == f"Wrong on the test split ({len(wrong)})"
    assert {point[0] for point in marked["customdata"]} == wrong
    clustered = listing_map.stored_agreement(TfidfScenario(), dataset, Workspace.from_environment().results_store())
    assert any(f"adjusted Rand index of {clustered:.2f}" in caption.value for caption in app.caption)
    assert any("Click a point" in info.value for info in app.info)


def test_map_page_is_computed_once_then_read_back(on_sample, monkeypatch):
    page("map.py").run()

    def never(features):
        raise AssertionError("t-SNE ran again")

    monkeypatch.setattr(listing_map, "map_coordinates", never)
    app = page("map.py").run()  # a new session, as after a restart: the map kept beside the result
    assert not app.exception and not app.error
    assert _figure(app)["data"]


def test_clicking_a_point_shows_the_listing_its_photo_and_its_explanation(on_sample):
    app = page("map.py").run()
    app.selectbox[0].select("tfidf").run()
    listing = on_sample["dataset"].listings.dropna(subset=["image_path"]).iloc[3]
    _click(app, listing["uniq_id"])
    assert not app.exception
    assert not any("Click a point" in info.value for info in app.info)
    thumbnail, beside_explanation = app.image  # the thumbnail beside the chart, the photo with the explanation
    assert thumbnail.captions == [""] and beside_explanation.captions == ["This scenario reads the text only"]
    names = [h.proto.body for h in app.get("html") if 'class="vitrine-product"' in h.proto.body]
    assert names and listing["product_name"][:20] in names[0]
    assert any(f"id {listing['uniq_id']}" in caption.value for caption in app.caption)
    assert app.subheader[0].value == "Why tfidf predicts what it does for this listing"
    assert any("vitrine-description" in h.proto.body for h in app.get("html"))


@pytest.fixture
def shown_media(monkeypatch) -> dict[str, bytes]:
    """The bytes of every image the pages send to the browser, by the name in its URL."""
    sent = {}
    keep = MemoryMediaFileStorage.load_and_get_id

    def recorded(self, path_or_data, mimetype, kind, filename=None):
        file_id = keep(self, path_or_data, mimetype, kind, filename)
        sent[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recorded)
    return sent


def test_the_heatmap_is_drawn_where_the_explanation_puts_it(on_sample, shown_media, monkeypatch):
    listing = on_sample["dataset"].listings.dropna(subset=["image_path"]).iloc[3]
    photo = listing_photo(listing)
    frame = to_square(photo)[1]
    grid = np.zeros((frame.side, frame.side), dtype=np.float32)  # over the squared photo, at full size
    # A wide band at the top left of the photo itself: a flip, a transpose or a misplaced padding moves it.
    grid[frame.top: frame.top + photo.height // 4, frame.left: frame.left + photo.width // 2] = 1.0

    def explained(self, uniq_id, target=None):
        return Explanation(target="x", probabilities={"x": 1.0}, photo_grid=grid, words=[])

    monkeypatch.setattr(ScenarioExplanations, "explain_listing", explained)
    app = page("map.py").run()
    app.selectbox[0].select("tfidf").run()
    _click(app, listing["uniq_id"])
    assert not app.exception
    beside_explanation = app.image[1]
    assert beside_explanation.captions[0].startswith("Where the model looked for")
    [url] = beside_explanation.value
    drawn = np.asarray(Image.open(io.BytesIO(shown_media[Path(url).stem])).convert("RGB"), dtype=float)
    plain = np.asarray(display_size(photo).convert("RGB"), dtype=float)
    assert drawn.shape == plain.shape
    change = np.abs(drawn - plain).sum(axis=2)  # how far each pixel's colour moved, over the 3 channels
    h, w = change.shape
    assert change[: h // 5, : w * 2 // 5].mean() > 100  # the band is coloured...
    assert change[: h // 5, w * 3 // 5:].mean() < 10  # ...not its mirror image on the right,
    assert change[h * 3 // 10: h // 2, : w // 5].mean() < 10  # nor its transpose down the left side,
    assert change[h // 2:].mean() < 10  # nor the bottom half


def test_likely_label_errors_are_marked_once_asked_and_kept(on_sample):
    app = page("map.py").run()
    app.selectbox[0].select("tfidf").run()
    assert not any(name.startswith("Likely label error") for name in _traces(app))
    next(b for b in app.button if b.label == "Mark likely label errors").click().run()
    assert not app.exception
    issues = Workspace.from_environment().results_store().load_table(TfidfScenario(), on_sample["dataset"].fingerprint,
                                                          LABEL_ISSUES_TABLE)
    flagged = set(issues.loc[issues["is_issue"], "uniq_id"])
    [marked] = [t for name, t in _traces(app).items() if name.startswith("Likely label error")]
    assert marked["name"] == f"Likely label error (cleanlab) ({len(flagged)})"
    assert {point[0] for point in marked.get("customdata", [])} == flagged
    again = page("map.py").run()
    again.selectbox[0].select("tfidf").run()
    assert not [b for b in again.button if b.label == "Mark likely label errors"]  # kept: no need to ask again


def test_map_page_shows_seller_names_as_text(hostile_app, monkeypatch):
    for variable in ("VITRINE_DATA_DIR", "VITRINE_WORK_DIR"):
        monkeypatch.setenv(variable, hostile_app[variable])
    app = page("map.py").run()
    assert not app.exception
    hovers = [point[1] for trace in _figure(app)["data"] for point in trace["customdata"]]
    assert any("&lt;img src=http://evil.example/z&gt;" in hover for hover in hovers)
    assert not any("<img" in hover for hover in hovers)


def test_map_page_colours_the_sub_categories_of_one_parent_and_greys_the_rest(on_sample):
    from core.hierarchy import SEPARATOR, at_level

    dataset = on_sample["dataset"]
    paths = at_level(dataset.listings, 2)[0].set_index("uniq_id")["category"]
    parent = next(p.split(SEPARATOR)[0] for p in paths if SEPARATOR in p)  # one split at level 2
    app = page("map.py").run()
    next(r for r in app.radio if r.label == "Colour by").set_value("level 2, one parent").run()
    next(s for s in app.selectbox if s.label == "Parent").select(parent).run()
    assert not app.exception
    traces = _traces(app)
    children = {p.rpartition(SEPARATOR)[2] for p in paths if p.startswith(parent + SEPARATOR)}
    assert set(traces) >= children | {"under the other parents"}
    for child in children:
        under = set(paths[paths == f"{parent}{SEPARATOR}{child}"].index)
        assert {point[0] for point in traces[child]["customdata"]} == under
    grey = traces["under the other parents"]
    assert grey["marker"]["color"] == "#d1d5db"
    assert not {point[0] for point in grey["customdata"]} & set(paths[paths.str.startswith(parent)].index)
    shown_points = sum(len(t["customdata"]) for name, t in traces.items() if not name.startswith("Wrong"))
    assert shown_points == len(dataset.listings)  # every listing once, those left out at level 2 in grey
    unsplit = next(p for p in paths if SEPARATOR not in p)  # too few below it: filed at the parent, not grey
    next(s for s in app.selectbox if s.label == "Parent").select(unsplit).run()
    assert len(_traces(app)[f"{unsplit} (not split)"]["customdata"]) == int((paths == unsplit).sum())
