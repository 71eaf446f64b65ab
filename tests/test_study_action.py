"""The study action: each scenario's k-means agreement, kept once computed, None where it cannot be."""
import pytest

from core.actions import study
from core.actions.study import feature_agreements
from core.scenarios.tfidf import TfidfScenario
from core.workspace import Workspace


class Spinner:
    """A ``computing`` callback that notes the scenarios it was opened for."""

    def __init__(self):
        self.names = []

    def __call__(self, name):
        self.names.append(name)
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_agreement_is_computed_once_under_the_callback_then_read_back(vocabularies):
    store = Workspace.from_environment()
    spinner = Spinner()
    first = feature_agreements(["tfidf"], vocabularies, store, spinner)
    assert first == {"tfidf": pytest.approx(1.0)} and spinner.names == ["tfidf"]
    assert feature_agreements(["tfidf"], vocabularies, store, spinner) == first
    assert spinner.names == ["tfidf"]  # read back: nothing computed, no spinner


def test_a_scenario_that_cannot_run_here_or_fails_to_cluster_has_none(vocabularies, monkeypatch):
    store = Workspace.from_environment()

    def fails(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(study, "agreement", fails)
    assert feature_agreements(["tfidf"], vocabularies, store) == {"tfidf": None}
    monkeypatch.setattr(TfidfScenario, "unavailable_reason", lambda self: "no weights here")
    spinner = Spinner()
    assert feature_agreements(["tfidf"], vocabularies, store, spinner) == {"tfidf": None}
    assert spinner.names == []
