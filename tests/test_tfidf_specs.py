"""The stronger text scenario: name, description and the sellers' specification values."""
import numpy as np
import pandas as pd

from core.cli import main
from core.dataset import load_dataset
from core.explain.base import ListingInput
from core.explain.tfidf_words import linear_scorer, word_contributions
from core.runs import fitted_scenario, run_scenario
from core.scenarios.tfidf_specs import TfidfSpecsScenario
from core.specifications import specification_text
from core.workspace import Workspace
from tests.conftest import needs_reference_data

RAW = ('{"product_specification"=>[{"key"=>"Brand", "value"=>"Sonata"}, {"key"=>"Strap Material", '
       '"value"=>"Leather Strap"}, {"value"=>"Free \\"size\\""}, {"key"=>"Type", "value"=>"Analog"}]}')


def test_specification_values_are_read_in_order_without_the_leaking_brand():
    assert specification_text(RAW) == 'Leather Strap Free \\"size\\" Analog'
    assert specification_text("") == "" and specification_text("Type: analog; strap: leather") == \
        "Type: analog; strap: leather"  # a batch's own plain column is read as it is


@needs_reference_data
def test_it_reaches_its_target_and_every_brand_value_stays_out(reference_dataset):
    result = run_scenario(TfidfSpecsScenario(), reference_dataset, Workspace.from_environment().results_store())
    assert result.cv_mean >= 0.95, f"5-fold CV {result.cv_mean:.3f}"
    raw = pd.read_csv(reference_dataset.csv_path, dtype=str, keep_default_na=False).set_index("uniq_id")
    with_brand = raw["product_specifications"].str.contains('"key"=>"Brand"')
    assert with_brand.sum() > 500
    specs = reference_dataset.listings.set_index("uniq_id")["specifications"]
    assert specs.str.len().gt(0).mean() > 0.95  # nearly every listing has specification values
    assert not specs.str.contains("=>").any()


def test_its_words_add_up_to_the_svm_score_and_specification_words_are_read_not_shown(small_data_dir):
    dataset = load_dataset()
    scenario = TfidfSpecsScenario()
    model = fitted_scenario(scenario, dataset, Workspace.from_environment().results_store()).estimator
    text = scenario.text("Steel watch", "analog wrist watch with strap", "Leather Strap")
    assert text == "Steel watch. analog wrist watch with strap Leather Strap"
    for index in range(len(model.classes_)):
        scores = [w.score for w in word_contributions(model, text, index)]
        svm = linear_scorer(model)
        margin = svm.decision_function(model.named_steps["tfidf"].transform([text]))[0][index] - svm.intercept_[index]
        assert np.isclose(sum(scores), margin, atol=1e-6)
    [explanation] = scenario.attributor(model).attribute(
        [ListingInput(None, "Steel watch", "analog wrist watch with strap", specifications="Leather Strap")])
    assert [w.word for w in explanation.words] == ["analog", "wrist", "watch", "with", "strap"]
    with_specs = scenario.attributor(model).predict_proba(None, "x", "towel", "Leather Strap")
    assert with_specs != scenario.attributor(model).predict_proba(None, "x", "towel")  # the values are read


def test_a_batch_with_a_specifications_column_is_classified_on_them(small_data_dir, tmp_path):
    run_scenario(TfidfSpecsScenario(), load_dataset(), Workspace.from_environment().results_store())
    path = tmp_path / "batch.csv"
    pd.DataFrame({"id": ["a", "b"], "description": ["item", "item"],
                  "product_specifications": ["", RAW]}).to_csv(path, index=False)
    out = tmp_path / "out.parquet"
    assert main(["classify", str(path), "--scenario", "tfidf_specs", "--out", str(out)]) == 0
    frame = pd.read_parquet(out)
    assert frame["status"].tolist() == ["ok", "ok"]
    assert frame["top_1_probability"].iloc[0] != frame["top_1_probability"].iloc[1]


def test_it_learns_a_category_with_as_few_listings_as_a_data_set_may_have(tmp_path, monkeypatch):
    """5 listings leave 4 in the train split and 3 in a cross-validation fold: the calibration's own folds
    adapt to them instead of refusing the data set."""
    from core.dataset import MIN_LISTINGS_PER_CATEGORY
    from tests.conftest import WORDS, listing_row, write_dataset
    rows = []
    for category, words in WORDS.items():
        vocabulary = words.split()
        count = MIN_LISTINGS_PER_CATEGORY if category == "Baby Care" else 10
        rows += [listing_row(f"{category[:2]}{i}", category, " ".join(vocabulary[(i + j) % 7] for j in range(5)))
                 for i in range(count)]
    monkeypatch.setenv("VITRINE_DATA_DIR", str(write_dataset(tmp_path / "data", rows)))
    result = run_scenario(TfidfSpecsScenario(), load_dataset(), Workspace.from_environment().results_store())
    assert result.cv_mean is not None and result.test_accuracy == 1.0
