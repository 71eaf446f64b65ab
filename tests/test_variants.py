"""The study's retraining variants: train share, greyscale photos, keyword weighting."""
import numpy as np
import pytest
from PIL import Image

from core.cli import EXIT_UNAVAILABLE, main
from core.dataset import load_dataset
from core.errors import ScenarioUnavailableError
from core.explain.base import ListingInput
from core.locations import REPO_ROOT
from core.runs import fitted_scenario, run_scenario
from core.scenarios.keyword_emphasis import KeywordEmphasis
from core.scenarios.registry import all_scenarios, scenario_named
from core.scenarios.tfidf import TfidfScenario
from core.scenarios.variants import variant
from core.split import assign_split
from core.workspace import Workspace
from tests.tiny_models import save_tiny_clip


def test_a_variant_is_named_by_its_options_and_found_again_by_that_name():
    tfidf = TfidfScenario()
    assert variant(tfidf) is tfidf
    named = variant(tfidf, 0.7, keywords=True)
    assert named.name == "tfidf+train70+keywords" and "70%" in named.description and tfidf.name == "tfidf"
    workspace = Workspace.from_environment()
    again = scenario_named("tfidf+train70+keywords", workspace)
    assert (again.train_share, again.keywords, again.greyscale) == (0.7, True, False)
    assert scenario_named("clip_a+greyscale", workspace).greyscale
    for wrong in ("tfidf+greyscale", "clip_a+keywords", "tfidf+train55", "tfidf+shiny", "nothing"):
        with pytest.raises(KeyError):
            scenario_named(wrong, workspace)
    with pytest.raises(ScenarioUnavailableError, match="reads no photo"):
        variant(tfidf, greyscale=True)


def test_a_train_share_variant_tests_on_the_rest_and_keeps_its_own_result(small_data_dir):
    dataset = load_dataset()
    store = Workspace.from_environment().results_store()
    study = run_scenario(TfidfScenario(), dataset, store)
    smaller = run_scenario(variant(TfidfScenario(), 0.7), dataset, store)
    assert (study.predictions["split"] == "test").sum() == 6 and (smaller.predictions["split"] == "test").sum() == 9
    assert smaller.cv_mean is not None and smaller.scenario == "tfidf+train70"
    assert store.load(TfidfScenario(), dataset.fingerprint).predictions.equals(study.predictions)
    assert "tfidf+train70" in store.scenario_names()


def test_keywords_are_learnt_from_the_training_texts_only_and_repeated_where_they_occur():
    words = {"Watches": "steel watch dial strap analog", "Home": "cotton towel soft bath hood",
             "Computers": "usb router wifi port cable"}
    texts = [" ".join(np.roll(vocabulary.split(), i)[:3]) for vocabulary in words.values() for i in range(5)]
    labels = [category for category in words for _ in range(5)]
    emphasis = KeywordEmphasis(top=2, repeat=3).fit(texts, labels)
    found = {word for words in emphasis.keywords_.values() for word in words}
    assert found and found <= set(" ".join(texts).split())
    word = next(iter(emphasis.keywords_["Watches"]))
    assert emphasis.transform([f"a {word.upper()} here"])[0] == f"a {word.upper()} {word.upper()} {word.upper()} here"
    assert emphasis.transform(["nothing known"])[0] == "nothing known"


def test_the_keyword_variant_never_learns_its_keywords_from_test_listings(small_data_dir):
    dataset = load_dataset()
    test = assign_split(dataset.listings) == "test"
    planted = "zanzibarite"  # a word only test listings of one category carry
    category = dataset.listings.loc[test, "category"].iloc[0]
    marked = test & (dataset.listings["category"] == category)
    dataset.listings.loc[marked, "description"] = dataset.listings.loc[marked, "description"] + f" {planted}"
    weighted = variant(TfidfScenario(), keywords=True)
    estimator = fitted_scenario(weighted, dataset, Workspace.from_environment().results_store()).estimator
    keywords = estimator.named_steps["keywords"].keywords_
    assert keywords and planted not in {word for words in keywords.values() for word in words}
    train_words = set(" ".join(dataset.listings.loc[~test, "description"]).lower().split())
    assert {word for words in keywords.values() for word in words} <= train_words
    keyword = keywords[category][0]
    [explanation] = weighted.attributor(estimator).attribute([ListingInput(None, "", f"plain {keyword} words")])
    [scored] = [w for w in explanation.words if w.word == keyword]
    assert explanation.target == category and scored.score > 0  # the weighted keyword speaks for its category


def test_the_greyscale_variant_reads_a_colour_photo_as_its_grey_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("VITRINE_CLIP_MODEL", str(save_tiny_clip(tmp_path / "tiny")))
    colour = Image.new("RGB", (64, 48), (200, 30, 90))
    grey = colour.convert("L").convert("RGB")
    plain = all_scenarios(Workspace.from_environment())["clip_a"]
    in_grey = variant(plain, greyscale=True)
    assert np.allclose(in_grey.features_of([colour], ["x"], ["a towel"]), plain.features_of([grey], ["x"], ["a towel"]))
    assert not np.allclose(in_grey.features_of([colour], ["x"], ["a towel"]),
                           plain.features_of([colour], ["x"], ["a towel"]))


def test_the_command_runs_a_variant_and_refuses_one_that_does_not_apply(small_data_dir, capsys):
    assert main(["run", "tfidf", "--train-share", "0.7", "--keywords"]) == 0
    assert capsys.readouterr().out.startswith("tfidf+train70+keywords: train ")
    assert main(["run", "tfidf", "--greyscale"]) == EXIT_UNAVAILABLE
    assert "reads no photo" in capsys.readouterr().err


def test_the_results_page_runs_a_variant_into_a_row_of_its_own(small_data_dir):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO_ROOT / "pages" / "results.py"), default_timeout=60).run()
    assert sorted(app.dataframe[0].value["Scenario"]) == ["tfidf", "tfidf_specs"]  # both run unasked
    form_radio = next(r for r in app.radio if r.label == "Train share")
    form_radio.set_value(0.9)
    next(c for c in app.checkbox if c.label == "Keywords").check()
    next(b for b in app.button if b.label == "Run the variant").click().run()
    assert not app.exception
    assert sorted(app.dataframe[0].value["Scenario"]) == ["tfidf", "tfidf+train90+keywords", "tfidf_specs"]
