import json

from core.dataset import load_dataset
from core.runs import run_scenario
from core.scenarios.tfidf import TfidfScenario
from core.workspace import Workspace


def test_results_are_stored_in_open_formats_and_reused_until_forced(small_data_dir):
    dataset = load_dataset(small_data_dir)
    store = Workspace.from_environment().results_store()
    first = run_scenario(TfidfScenario(), dataset, store)
    assert not first.reused
    folder = store.folder(TfidfScenario(), dataset.fingerprint)
    metadata = json.loads((folder / "result.json").read_text())
    assert metadata["test_accuracy"] == first.test_accuracy and metadata["model_id"] == "tfidf-1-2grams-logreg"
    again = run_scenario(TfidfScenario(), dataset, store)
    assert again.reused
    assert again.predictions.equals(first.predictions)
    assert again.summary() == first.summary()
    assert not run_scenario(TfidfScenario(), dataset, store, force=True).reused


def test_a_new_scenario_version_or_dataset_is_not_served_old_results(small_data_dir):
    dataset = load_dataset(small_data_dir)
    store = Workspace.from_environment().results_store()
    run_scenario(TfidfScenario(), dataset, store)
    newer = TfidfScenario()
    newer.version = "2"
    assert store.load(newer, dataset.fingerprint) is None
    assert store.load(TfidfScenario(), "another-dataset") is None
    assert store.latest("tfidf", dataset.fingerprint) is not None
    # Tables computed from a result (the keyword guide) are not served for another version or dataset either.
    tables = {store.table_path(s, f, "keywords") for s, f in ((TfidfScenario(), dataset.fingerprint),
                                                              (newer, dataset.fingerprint),
                                                              (TfidfScenario(), "another-dataset"))}
    assert len(tables) == 3


def test_a_damaged_artefact_is_recomputed(small_data_dir):
    dataset = load_dataset(small_data_dir)
    store = Workspace.from_environment().results_store()
    run_scenario(TfidfScenario(), dataset, store)
    (store.folder(TfidfScenario(), dataset.fingerprint) / "result.json").write_text("{not json")
    assert store.load(TfidfScenario(), dataset.fingerprint) is None
    assert not run_scenario(TfidfScenario(), dataset, store).reused
