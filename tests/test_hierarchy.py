"""The category tree below the first level: the merge rule, path answers consistent with the tree, the
hierarchical scores, and level results stored apart from the first level's."""
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from streamlit.testing.v1 import AppTest

from core.actions.listing_service import Listing, ListingService
from core.calibration import ReviewThreshold
from core.cli import main
from core.dataset import load_dataset
from core.errors import ScenarioUnavailableError
from core.hierarchy import (
    BackOff,
    TopDownClassifier,
    at_level,
    categories_at_level,
    hierarchical_scores,
    level_confidences,
    level_report,
    parent_confusion,
    tree_path,
)
from core.locations import CSV_NAME, REPO_ROOT
from core.mistakes import RIGHT_PARENT, WRONG_PARENT, MistakeFilter
from core.scenarios.registry import all_scenarios
from core.scenarios.variants import parse_variant, variant
from core.workspace import Workspace
from tests.conftest import listing_row, shown, write_dataset


def _level(level: int, trees: list[list[str]], minimum: int = 3):
    return categories_at_level([tree[0] for tree in trees], trees, level, minimum)


def test_small_sub_categories_and_listings_filed_at_the_parent_merge_into_other_parent():
    trees = [["A", "B"]] * 4 + [["A", "C"]] * 2 + [["A"]] + [["D", "E"], ["D", "F"]] + [["G", "H"]] * 3 + [["G", "I"]]
    found = _level(2, trees)
    assert found.paths == ["A > B"] * 4 + ["A > other A"] * 3 + ["D", "D"] + ["G > H"] * 3 + [None]
    assert found.merged == {"A > other A": {"C": 2, "(filed here)": 1}}
    assert found.left_out == {"G > other G": 1}  # too small to learn: left out at this level, named
    assert found.unsplit == ["D"]  # no sub-category large enough: not split


def test_a_merged_or_unsplit_category_is_a_leaf_at_the_levels_below():
    trees = [["A", "B", "X"]] * 3 + [["A", "B", "Y"]] * 3 + [["A", "C", "Z"]] * 2 + [["A", "D"]] + [["E", "F"]]
    found = _level(3, trees)
    assert found.paths[:6] == ["A > B > X"] * 3 + ["A > B > Y"] * 3
    assert found.paths[6:9] == ["A > other A"] * 3  # merged at level 2, not split again
    assert found.paths[9] == "E"


def test_the_tree_is_read_as_the_data_set_writes_it():
    assert tree_path('["Home Furnishing >> Bed Linen >> Bedsheets"]') == ["Home Furnishing", "Bed Linen", "Bedsheets"]
    assert tree_path('["Tools >> A > B"]') == ["Tools", "A - B"]  # a '>' of its own would read as a step
    assert tree_path("no tree") == []


def test_a_corrected_first_level_files_the_listing_at_its_new_category():
    listings = pd.DataFrame({"category": ["A"] * 4 + ["B"] * 4,
                             "category_tree": ['["A >> X"]'] * 4 + ['["A >> X"]'] + ['["B >> Y"]'] * 3})
    kept, found = at_level(listings, 2, minimum=3)
    assert kept["category"].tolist() == ["A > X"] * 4 + ["B > Y"] * 3 and 4 not in kept.index
    assert found.left_out == {"B > other B": 1}
    assert kept["main_category"].tolist() == ["A"] * 4 + ["B"] * 3


def _paths_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    paths = ["A > B", "A > C", "D > E", "D > F", "G"]
    centres = rng.normal(0, 3, (len(paths), 4))
    y = np.repeat(paths, 30)
    X = centres[np.repeat(np.arange(len(paths)), 30)] + rng.normal(0, 1, (len(y), 4))
    return X, y


def test_top_down_answers_are_paths_of_the_tree_and_a_parent_shares_out_its_probability():
    X, y = _paths_data()
    model = TopDownClassifier(LogisticRegression(max_iter=1000)).fit(X, y)
    proba = model.predict_proba(X)
    assert list(model.classes_) == ["A > B", "A > C", "D > E", "D > F", "G"]
    assert np.allclose(proba.sum(axis=1), 1)
    first = model.root_["model"].predict_proba(X)  # the first level's classifier: A, D, G
    assert np.allclose(proba[:, 0] + proba[:, 1], first[:, 0]) and np.allclose(proba[:, 4], first[:, 2])
    assert set(model.predict(X)) <= set(y) and (model.predict(X) == y).mean() > 0.9


def test_top_down_cross_validates_as_scikit_learn_encodes_the_labels():
    X, y = _paths_data()
    paths = sorted(set(y))
    held_out = cross_val_predict(TopDownClassifier(LogisticRegression(max_iter=1000), paths), X, y, cv=3,
                                 method="predict_proba")
    assert held_out.shape == (len(y), 5) and (np.array(paths)[held_out.argmax(axis=1)] == y).mean() > 0.9


def test_hierarchical_scores_credit_the_right_ancestors():
    assert hierarchical_scores(["A > B"], ["A > C"]) == (0.5, 0.5, 0.5)
    assert hierarchical_scores(["A > B"], ["D > E"]) == (0.0, 0.0, 0.0)
    precision, recall, _ = hierarchical_scores(["A > B > C"], ["A"])  # stopped short: precise, not complete
    assert precision == 1.0 and recall == pytest.approx(1 / 3)
    report = level_report(["A > B", "A > C", "D > E"], ["A > C", "A > C", "D > E"])
    assert report["level1_accuracy"] == 1.0 and report["level2_accuracy"] == pytest.approx(2 / 3)


def test_levels_are_variants_with_their_own_names():
    scenarios = all_scenarios(Workspace.at(Workspace.from_environment().root))
    assert variant(scenarios["tfidf"], level=2).name == "tfidf+level2"
    assert parse_variant("tfidf+level2+topdown", scenarios).top_down
    with pytest.raises(ScenarioUnavailableError, match="level is 1 to 3"):
        variant(scenarios["tfidf"], level=4)
    with pytest.raises(ScenarioUnavailableError, match="below the first"):
        variant(scenarios["tfidf"], top_down=True)


@pytest.fixture
def two_level_data(tmp_path, monkeypatch):
    """3 first-level categories of 2 sub-categories with 12 listings each, each sub-category its own words."""
    rows = []
    for parent, children in {"Watches": ("Analog", "Smart"), "Computers": ("Mice", "Routers"),
                             "Baby Care": ("Diapers", "Rompers")}.items():
        for child in children:
            for i in range(12):
                row = listing_row(f"{child[:3]}{i}", parent,
                                  description=f"{parent.lower()} {child.lower()} item {i} {child.lower()}s")
                row["product_category_tree"] = f'["{parent} >> {child} >> Leaf"]'
                rows.append(row)
    for i in range(3):  # too few to learn at level 2
        rows.append(listing_row(f"Ban{i}", "Watches", description="watches band strap"))
        rows[-1]["product_category_tree"] = '["Watches >> Bands"]'
    monkeypatch.setenv("VITRINE_DATA_DIR", str(write_dataset(tmp_path / "data", rows)))


def test_a_level_two_result_survives_a_first_level_rerun_and_both_hierarchies_run(two_level_data, capsys):
    assert main(["run", "tfidf", "--level", "2"]) == 0
    out = capsys.readouterr().out
    assert "tfidf+level2:" in out and "tfidf+level2+topdown:" in out
    # every listing here is told apart by its words: both cross-validate alike, and a tie is not called better
    assert "kept at level 2: tfidf+level2 (the same 5-fold CV as top-down's, so the simpler classifier)" in out
    assert "hierarchical precision" in out
    store = Workspace.from_environment().results_store()
    scenarios = all_scenarios(Workspace.from_environment())
    before = store.load(variant(scenarios["tfidf"], level=2), load_dataset().fingerprint)
    assert main(["run", "tfidf", "--force"]) == 0
    after = store.load(variant(scenarios["tfidf"], level=2), load_dataset().fingerprint)
    first = store.load(scenarios["tfidf"], load_dataset().fingerprint)
    assert after.created_at == before.created_at and after.classes == before.classes
    assert sorted(after.classes) == ["Baby Care > Diapers", "Baby Care > Rompers", "Computers > Mice",
                                     "Computers > Routers", "Watches > Analog", "Watches > Smart"]
    assert first.classes == ["Baby Care", "Computers", "Watches"]
    # every level tests the same listings, but for those left out at level 2
    tested = set(first.predictions.query("split == 'test'")["uniq_id"])
    assert set(after.predictions.query("split == 'test'")["uniq_id"]) == tested - {"Ban0", "Ban1", "Ban2"}


def test_the_data_report_names_what_each_level_merged_or_left_out(two_level_data, capsys):
    assert main(["data", "report"]) == 0
    out = capsys.readouterr().out
    assert "level 2: 6 categories, 3 listing(s) left out; a sub-category with fewer than 10 listings is merged" in out
    # those left out at level 2 are left out at level 3 too, and said to be, so that the list below adds up
    assert "level 3: 6 categories, 3 listing(s) left out (3 of them at the level above);" in out
    assert "  - Watches > other Watches (3): left out: fewer than 10 listings" in out


def test_the_data_quality_page_shows_the_levels_and_what_was_left_out(two_level_data):
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "data.py"), default_timeout=60).run()
    assert not app.exception
    assert "The category tree below the first level" in [s.value for s in app.subheader]
    assert any("level 2: 6 categories" in m.value for m in app.markdown)
    merges = app.dataframe[-1].value  # what each level adds: level 3 does not repeat level 2's
    assert merges.to_dict("records") == [{"level": 2, "category": "Watches > other Watches", "listings": 3,
                                          "what": "left out: fewer than 10 listings"}]


def test_a_listing_is_filed_at_the_deepest_level_whose_cut_off_it_passes():
    sure_level_1, sure_level_2 = ReviewThreshold(0.99, 0.8, 500), ReviewThreshold(0.99, 0.6, 500)
    back_off = BackOff([sure_level_1, sure_level_2])
    predicted = [["A", "A", "A", "A"], ["A > B", "A > B", "A > C", "A > C"]]
    confidences = [[0.95, 0.85, 0.5, 0.9], [0.7, 0.4, 0.7, None]]
    # deep enough; only level 1; level 2 passes its own cut-off (its guarantee covers it) while level 1 does
    # not; level 2 unknown: level 1
    assert back_off.file(predicted, confidences).tolist() == [2, 1, 2, 1]
    nothing_proven = BackOff([sure_level_1, ReviewThreshold(0.99, None, 500)])
    assert nothing_proven.file(predicted, confidences).tolist() == [1, 1, 0, 1]  # review: no level passes


def test_a_levels_confidence_sums_the_paths_under_the_best_paths_ancestor():
    classes = ["A > B", "A > C", "D > E"]
    predicted, sure = level_confidences(np.array([[0.4, 0.3, 0.3], [0.1, 0.2, 0.7]]), classes, 1)
    assert predicted.tolist() == ["A", "D"] and np.allclose(sure, [0.7, 0.7])


def test_a_level_run_says_where_the_back_off_files_the_test_split(two_level_data, capsys):
    assert main(["run", "tfidf", "--level", "2", "--json"]) == 0
    flat, _ = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    filed = flat["back_off"]
    assert filed["to_review"] + sum(filed["filed"].values()) == filed["listings"] > 0
    assert filed["accepted"] == sum(filed["filed"].values()) and 0 <= filed["right"] <= filed["accepted"]


def test_classify_at_level_two_files_each_listing_and_says_how_deep(two_level_data, tmp_path, capsys):
    listings = load_dataset().listings
    batch = tmp_path / "new.csv"
    listings[["uniq_id", "product_name", "description"]].to_csv(batch, index=False)
    assert main(["classify", str(batch), "--level", "2", "--out", str(tmp_path / "out.csv")]) == 0
    out = capsys.readouterr().out
    written = pd.read_csv(tmp_path / "out.csv")
    assert {"predicted_path", "accepted_level", "confidence_level1", "confidence_level2"} <= set(written.columns)
    assert (written["needs_review"] == (written["accepted_level"] == 0)).all()
    assert set(written["predicted_path"]) <= {f"{p} > {c}" for p, cs in
                                              {"Watches": ("Analog", "Smart"), "Computers": ("Mice", "Routers"),
                                               "Baby Care": ("Diapers", "Rompers")}.items() for c in cs}
    # a path's first level is never less sure than the path itself
    assert (written["confidence_level1"] >= written["confidence_level2"] - 1e-12).all()
    filed = written["accepted_level"].value_counts()
    assert f"{filed.get(2, 0)} filed at level 2, {filed.get(1, 0)} filed at level 1" in out


def test_the_service_answers_at_level_two_with_the_level_each_listing_is_filed_at(two_level_data):
    workspace = Workspace.from_environment()
    service = ListingService(workspace, load_dataset(), "tfidf+level2")
    [result] = service.classify([Listing("n1", "Smart watch", "watches smart item 1 smarts")])
    assert result.predicted == "Watches > Smart" and result.accepted_level in (0, 1, 2)
    assert len(result.level_confidences) == 2 and result.level_confidences[0] >= result.level_confidences[1]
    assert result.needs_review == (result.accepted_level == 0)


def test_a_parents_confusion_keeps_its_sub_categories_and_counts_the_strays_apart():
    true = ["A > B", "A > B", "A > C", "A > C", "D > E"]
    predicted = ["A > B", "A > C", "D > E", "A > C", "A > B"]
    frame = parent_confusion(true, predicted, "A")
    assert frame.index.tolist() == ["A > B", "A > C"]
    assert frame.loc["A > B"].tolist() == [1, 1, 0] and frame.loc["A > C"].tolist() == [0, 1, 1]
    assert frame.columns[-1] == "under another parent"


def test_the_results_page_runs_a_level_and_shows_it_apart_from_the_first(two_level_data):
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "results.py"), default_timeout=120).run()
    assert not app.exception
    first_level = app.dataframe[0].value["Scenario"].tolist()
    assert not any("+level" in name for name in first_level)
    assert {"tfidf", "tfidf_specs"} <= set(first_level)  # without model weights, still a comparison
    [level_radio] = [r for r in app.radio if r.label == "Level of the category tree"]
    level_radio.set_value(2).run()
    assert "Nothing has run at level 2 yet: pick a scenario above and press \"Run at level 2\"" in app.info[0].value
    assert "(Home Furnishing > Bed Linen)" in app.caption[-1].value
    app.selectbox(key="level-2-scenario").set_value("tfidf")
    app.button[0].click().run()
    assert not app.exception
    table = app.dataframe[0].value
    assert dict(zip(table["Scenario"], table["Classifier"])) == {"tfidf+level2": "flat",
                                                                "tfidf+level2+topdown": "top-down"}
    assert {"Hierarchical F1", "Filed, deepest first", "Filed and right"} <= set(table.columns)
    assert app.selectbox(key="level-2-parent").options == ["Baby Care", "Computers", "Watches"]
    # first-level results stay as they were
    level_radio = [r for r in app.radio if r.label == "Level of the category tree"][0]
    level_radio.set_value(1).run()
    assert app.dataframe[0].value["Scenario"].tolist() == first_level


def test_mistakes_below_the_first_level_split_into_right_and_wrong_parent():
    mistakes = pd.DataFrame({"true": ["A > B", "A > B", "D > E"], "predicted": ["A > C", "D > E", "A > B"],
                             "confidence": [0.9, 0.8, 0.7], "split": ["test"] * 3})
    assert MistakeFilter(kind=RIGHT_PARENT).apply(mistakes)["predicted"].tolist() == ["A > C"]
    assert MistakeFilter(kind=WRONG_PARENT).apply(mistakes)["predicted"].tolist() == ["D > E", "A > B"]
    assert len(MistakeFilter().apply(mistakes)) == 3


def test_the_misclassified_page_filters_a_levels_paths_and_its_kind_of_mistake(two_level_data):
    assert main(["run", "tfidf", "--level", "2"]) == 0 and main(["run", "tfidf"]) == 0
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "misclassified.py"), default_timeout=120).run()
    assert not any(r.label == "Mistake" for r in app.radio)  # the first level has no parents
    app.selectbox[0].set_value("tfidf+level2").run()
    assert not app.exception
    assert "Watches > Smart" in app.multiselect[0].options
    [kind] = [r for r in app.radio if r.label == "Mistake"]
    kind.set_value(WRONG_PARENT).run()
    assert not app.exception and "misclassified listing(s) match" in app.caption[0].value
    app.selectbox[0].set_value("tfidf+level2+topdown").run()
    assert not app.exception


@pytest.mark.parametrize("name", ["results.py", "misclassified.py", "explain.py", "guide.py", "map.py", "review.py",
                                  "classify.py", "compare.py", "list_product.py", "data.py"])
def test_every_page_opens_with_level_results_stored(two_level_data, name):
    assert main(["run", "tfidf", "--level", "2"]) == 0 and main(["run", "tfidf"]) == 0
    app = AppTest.from_file(str(REPO_ROOT / "pages" / name), default_timeout=120).run()
    assert not app.exception, app.exception


def test_a_sub_category_is_explained_against_its_siblings(two_level_data):
    from core.actions.explain import ScenarioExplanations
    from core.explain.base import ListingInput

    workspace = Workspace.from_environment()
    scenario = variant(all_scenarios(workspace)["tfidf"], level=2)
    explanations = ScenarioExplanations(scenario, load_dataset(), workspace)
    explanation = explanations.explain_listing(ListingInput(None, "", "smart watches", ""), "Watches > Smart")
    score = {w.word: w.score for w in explanation.words}
    # "watches" is in every listing of both sub-categories of Watches: it says nothing for Smart against Analog
    assert score["smart"] > 0.5 and abs(score["watches"]) < 0.1 * score["smart"]
    assert any("against the other sub-categories of Watches: Analog" in note for note in explanation.notes)


def test_the_keyword_guide_gives_each_sub_category_the_words_that_tell_it_from_its_siblings(two_level_data):
    assert main(["run", "tfidf", "--level", "2"]) == 0
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "guide.py"), default_timeout=120).run()
    next(s for s in app.selectbox if s.label == "From scenario").select("tfidf+level2").run()
    assert not app.exception
    assert [h.value for h in app.subheader] == ["Baby Care", "Computers", "Watches"]  # grouped by parent
    labels = [shown(e.label) for e in app.expander]  # "Smart: smart, smarts, ..."
    words = {label.split(": ")[0]: label.split(": ")[1].split(", ") for label in labels}
    assert set(words) == {"Diapers", "Rompers", "Mice", "Routers", "Analog", "Smart"}
    assert words["Smart"][0] in ("smart", "smarts")  # what sets it apart from Analog
    assert "watches" not in words["Smart"][:2]  # shared by both sub-categories of Watches: no advice between them
    assert any("against those of its siblings" in c.value for c in app.caption)


def test_label_issues_at_level_two_judge_a_sub_category_against_the_others(two_level_data, tmp_path, capsys):
    from core.labels.issues import LABEL_ISSUES_TABLE

    # Two Smart watches labelled Analog: at level 2 their first-level label is right, their sub-category is not.
    csv = Path(os.environ["VITRINE_DATA_DIR"]) / CSV_NAME
    listings = pd.read_csv(csv, dtype=str, keep_default_na=False)
    wrong = listings["uniq_id"].isin(["Sma0", "Sma1"])
    listings.loc[wrong, "product_category_tree"] = '["Watches >> Analog >> Leaf"]'
    listings.to_csv(csv, index=False)
    assert main(["labels", "issues", "--scenario", "tfidf", "--level", "2", "--json", "--top", "5"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["uniq_id"] for r in rows[:2]} == {"Sma0", "Sma1"}  # ranked first
    assert all(r["given"] == "Watches > Analog" and r["suggested"] == "Watches > Smart" for r in rows[:2])
    assert "at level 2, written to" in err
    workspace = Workspace.from_environment()
    scenario = variant(all_scenarios(workspace)["tfidf"], level=2)
    stored = workspace.results_store().load_table(scenario, load_dataset().fingerprint, LABEL_ISSUES_TABLE)
    assert set(stored["given"]) <= {"Baby Care > Diapers", "Baby Care > Rompers", "Computers > Mice",
                                    "Computers > Routers", "Watches > Analog", "Watches > Smart"}
    assert "Ban0" not in set(stored["uniq_id"])  # left out at level 2 (too few Bands): not judged there


def test_a_top_down_sub_category_is_explained_by_its_parents_classifier(two_level_data):
    from core.actions.explain import ScenarioExplanations
    from core.explain.base import ListingInput

    workspace = Workspace.from_environment()
    top_down = variant(all_scenarios(workspace)["tfidf"], level=2, top_down=True)
    assert top_down.explains_words
    explanations = ScenarioExplanations(top_down, load_dataset(), workspace)
    explanation = explanations.explain_listing(ListingInput(None, "", "smart watches", ""), "Watches > Smart")
    score = {w.word: w.score for w in explanation.words}
    # Watches' own classifier chose Smart over Analog: "smart" speaks for it, "watches" (both have it) hardly
    assert score["smart"] > 0.5 and abs(score["watches"]) < 0.1 * score["smart"]
    assert any("against the other sub-categories of Watches: Analog (the classifier of that parent, which chose it)"
               in note for note in explanation.notes)
    assert sum(explanation.probabilities.values()) == pytest.approx(1.0)
    first = explanations.explain_listing(ListingInput(None, "", "smart watches", ""), "Computers > Mice")
    assert first.target == "Computers > Mice" and first.words  # any path, each by the classifier that chose it


def test_an_operator_answers_at_the_level_the_model_answered(two_level_data):
    from core.hierarchy import answerable

    listings = load_dataset().listings
    assert answerable(listings, ["Watches", None, "Computers"]) == ["Baby Care", "Computers", "Watches"]
    assert answerable(listings, ["Watches > Smart", "Computers"]) == [
        "Baby Care", "Baby Care > Diapers", "Baby Care > Rompers", "Computers", "Computers > Mice",
        "Computers > Routers", "Watches", "Watches > Analog", "Watches > Smart"]  # Bands: too few, left out


def test_an_operator_files_a_level_two_batch_listing_parent_first_then_sub_category(two_level_data, tmp_path,
                                                                                    monkeypatch, capsys):
    from core.review.answer_store import ReviewStore
    from tests.conftest import operator_field
    from tests.test_app_pages import _button

    monkeypatch.setenv("VITRINE_REVIEW_DB", f"sqlite:///{tmp_path / 'reviews.sqlite'}")
    batch = tmp_path / "today.csv"
    batch.write_text("id,product_name,description\nn1,Mystery,zzz qqq vvv\n", encoding="utf-8")
    assert main(["run", "tfidf"]) == 0
    assert main(["classify", str(batch), "--level", "2", "--precision", "1", "--to-review"]) == 0
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "review.py"), default_timeout=120).run()
    operator_field(app).input("ana").run()
    queue = app.selectbox[0]
    queue.select(next(o for o in queue.options if o.startswith("Batch today.csv"))).run()
    assert not app.exception
    parents = [b.label for b in app.button if (b.key or "").startswith("parent-")]
    assert parents == ["Baby Care", "Computers", "Watches"]
    assert not [b for b in app.button if (b.key or "").startswith("pick-")]  # the sub-categories come second
    _button(app, "Watches").click().run()
    picks = [b for b in app.button if (b.key or "").startswith("pick-")]
    assert [b.label for b in picks] == ["Analog", "Smart", "Only Watches"]
    assert all(b.proto.shortcut for b in picks) and not any(
        b.proto.shortcut for b in app.button if (b.key or "").startswith("parent-"))  # keys 1-9 move down a step
    _button(app, "Smart").click().run()
    _button(app, "Save answer").click().run()
    assert not app.exception
    [answer] = ReviewStore(f"sqlite:///{tmp_path / 'reviews.sqlite'}").active_answers()
    assert answer.category == "Watches > Smart"



def test_an_answer_given_as_a_path_corrects_the_first_level_it_names(two_level_data):
    from core.labels.versions import corrections_from_answers

    answers = pd.DataFrame({"id": [1, 2], "operator": ["ana", "ana"], "uniq_id": ["Sma0", "Ana0"],
                            "label": ["Computers > Mice", "Watches > Smart"], "in_doubt": [False, False],
                            "created_at": pd.Timestamp("2026-12-06", tz="UTC")})
    found = corrections_from_answers(answers, load_dataset())
    # Sma0 moves to Computers; Ana0 stays under Watches (its sub-category is the tree's, not a label)
    assert found[["uniq_id", "old_label", "new_label"]].values.tolist() == [["Sma0", "Watches", "Computers"]]
