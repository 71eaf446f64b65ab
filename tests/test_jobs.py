"""Jobs: long work run outside the page that asked for it, shared, one at a time, cancellable; and the
Results page following a run it did not start."""
import threading

import pytest
from streamlit.testing.v1 import AppTest

from core.dataset import load_dataset
from core.errors import VitrineError
from core.jobs import CANCELLED, DONE, FAILED, JobBoard
from core.locations import REPO_ROOT
from tests.conftest import shown


def gated(gate: threading.Event, calls: list, answer="done", steps: int = 3):
    """Work that reports ``steps`` steps, then waits for ``gate`` before answering."""
    def work(progress):
        calls.append(answer)
        for step in range(steps):
            progress(step, steps, f"step {step}")
        assert gate.wait(10)
        progress(steps, steps, "last step")
        return answer
    return work


def test_the_same_work_asked_twice_is_one_job_and_runs_once():
    board, gate, calls = JobBoard(), threading.Event(), []
    first = board.start("run tfidf", "Running tfidf", gated(gate, calls))
    second = board.start("run tfidf", "Running tfidf", gated(gate, calls))
    assert second is first and not first.finished
    gate.set()
    assert first.wait(10) and first.state == DONE and first.result == "done"
    assert calls == ["done"]  # a second visitor followed the first one's run
    assert (first.done, first.total, first.message) == (3, 3, "last step") and first.share == 1.0
    assert board.get("run tfidf") is first and board.unfinished() == []


def test_jobs_run_one_at_a_time_in_the_order_asked():
    board, gate, calls = JobBoard(), threading.Event(), []
    first = board.start("a", "A", gated(gate, calls, "a"))
    second = board.start("b", "B", gated(gate, calls, "b"))
    assert not first.wait(0.3) and second.state == "waiting" and calls == ["a"]
    assert board.unfinished() == [first, second]
    gate.set()
    assert second.wait(10) and calls == ["a", "b"] and second.result == "b"


def test_a_cancelled_job_stops_at_its_next_report_and_a_waiting_one_never_starts():
    board, gate, calls = JobBoard(), threading.Event(), []
    running = board.start("a", "A", gated(gate, calls, "a"))
    waiting = board.start("b", "B", gated(gate, calls, "b"))
    while running.state != "running":
        running.wait(0.01)
    running.cancel()
    waiting.cancel()
    gate.set()
    assert running.wait(10) and waiting.wait(10)
    assert running.state == waiting.state == CANCELLED and running.result is None
    assert calls == ["a"]  # b was never started
    assert board.start("b", "B", gated(gate, calls, "b")) is not waiting  # asked again: a new job


def test_a_failed_job_keeps_its_error_and_the_next_one_still_runs():
    board = JobBoard()

    def broken(progress):
        raise VitrineError("The data set has no listings.")

    failed = board.start("a", "A", broken)
    after = board.start("b", "B", lambda progress: 42)
    assert after.wait(10) and after.result == 42
    assert failed.state == FAILED and str(failed.error) == "The data set has no listings."
    board.forget(failed)
    assert board.get("a") is None


@pytest.fixture
def results_page_board(small_data_dir):
    """The app's job board (one per server process, as every session sees it) and the data set."""
    from pages._shared import job_board

    return job_board(), load_dataset()


def test_the_results_page_follows_a_run_already_under_way_instead_of_starting_another(results_page_board,
                                                                                       monkeypatch):
    import pages._shared as shared
    from core.scenarios.tfidf import TfidfScenario
    from core.scenarios.tfidf_specs import TfidfSpecsScenario

    board, dataset = results_page_board
    started, gate = [], threading.Event()
    real_run = shared.run_scenario

    def counted(scenario, *args, **kwargs):
        started.append(scenario.name)
        assert gate.wait(10)  # the run is still under way when the page opens
        return real_run(scenario, *args, **kwargs)

    monkeypatch.setattr(shared, "run_scenario", counted)
    # As another visitor (or this one, before leaving the page) would have started it: tfidf under way.
    under_way = shared.queue_run(TfidfScenario(), dataset)
    threading.Timer(1.0, gate.set).start()
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "results.py"), default_timeout=120).run()
    assert not app.exception
    assert under_way.state == DONE
    assert sorted(app.dataframe[0].value["Scenario"]) == ["tfidf", "tfidf_specs"]
    assert started == ["tfidf", TfidfSpecsScenario().name]  # tfidf ran once: the page followed the run under way


def test_a_run_cancelled_on_the_results_page_is_not_started_again_by_opening_it(results_page_board):
    import pages._shared as shared
    from core.scenarios.tfidf_specs import TfidfSpecsScenario

    board, dataset = results_page_board
    gate = threading.Event()
    blocker = board.start("something before", "Something before", gated(gate, []))
    cancelled = shared.queue_run(TfidfSpecsScenario(), dataset)
    cancelled.cancel()
    gate.set()
    assert blocker.wait(10) and cancelled.wait(10) and cancelled.state == CANCELLED
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "results.py"), default_timeout=120).run()
    assert not app.exception
    assert app.dataframe[0].value["Scenario"].tolist() == ["tfidf"]
    assert any("The run of tfidf_specs was cancelled" in shown(info.value) for info in app.info)
    assert board.get(f"run tfidf_specs on {dataset.fingerprint}") is cancelled  # still cancelled, not re-run


def test_a_run_asked_for_before_a_reload_is_shown_on_the_results_page_then_its_row(results_page_board, monkeypatch):
    import pages._shared as shared
    from core.scenarios.tfidf import TfidfScenario
    from core.scenarios.tfidf_specs import TfidfSpecsScenario
    from core.scenarios.variants import variant

    board, dataset = results_page_board
    gate, real_run = threading.Event(), shared.run_scenario
    for quick in (TfidfScenario(), TfidfSpecsScenario()):  # stored: the page has nothing of its own to run
        real_run(quick, dataset, shared.results_store())

    def gated_run(scenario, *args, **kwargs):
        assert gate.wait(10)
        return real_run(scenario, *args, **kwargs)

    monkeypatch.setattr(shared, "run_scenario", gated_run)
    asked = shared.queue_run(variant(TfidfScenario(), train_share=0.9), dataset)  # its button, before the reload
    threading.Timer(4.0, gate.set).start()  # still under way once the page has read what is stored
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "results.py"), default_timeout=120).run()
    assert not app.exception and asked.state == DONE
    assert "tfidf+train90" in app.dataframe[0].value["Scenario"].tolist()  # no second press needed
