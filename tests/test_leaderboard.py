"""The Results page leads with the answer: the best scenario, its lead, its cost; other pages start on it."""
import dataclasses

from streamlit.testing.v1 import AppTest

from core.dataset import load_dataset
from core.leaderboard import best_scenario, headline
from core.locations import REPO_ROOT
from core.runs import run_scenario
from core.scenarios.tfidf import TfidfScenario
from core.scenarios.variants import variant
from core.workspace import Workspace


def _results(small_data_dir):
    dataset = load_dataset()
    store = Workspace.from_environment().results_store()
    return {s.name: run_scenario(s, dataset, store) for s in (TfidfScenario(), variant(TfidfScenario(), 0.7))}


def test_the_best_is_the_highest_cv_and_the_headline_says_by_how_much(small_data_dir):
    results = _results(small_data_dir)
    results["tfidf"] = dataclasses.replace(results["tfidf"], cv_mean=0.95, cv_std=0.01)
    results["tfidf+train70"] = dataclasses.replace(results["tfidf+train70"], cv_mean=0.90, cv_std=0.02)
    assert best_scenario(results) == "tfidf"
    lead = headline(results)
    assert lead.best == "tfidf" and "5-fold CV 95.0% ± 1.0%" in lead.text
    assert "5.0 points above tfidf+train70" in lead.text
    assert "not a clear lead" not in lead.text
    results["tfidf+train70"] = dataclasses.replace(results["tfidf+train70"], cv_mean=0.945)
    assert "within the CV spread: not a clear lead" in headline(results).text


def test_the_headline_compares_times_only_where_they_differ(small_data_dir):
    results = _results(small_data_dir)

    def timed(*totals: float) -> dict:
        return {name: dataclasses.replace(result, seconds={**result.seconds, "total": total})
                for (name, result), total in zip(results.items(), totals)}

    assert headline(timed(4.2, 3.9)).text.endswith("; both took about 4 s.")  # not "4 s against 4 s"
    different = headline(timed(4.2, 30.0)).text
    assert "both took" not in different and (different.endswith("it took 4 s against 30 s.")
                                             or different.endswith("it took 30 s against 4 s."))


def test_the_results_page_leads_with_the_best_and_other_pages_start_on_it(small_data_dir):
    results = _results(small_data_dir)
    best = best_scenario(results)
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "results.py"), default_timeout=60).run()
    assert not app.exception
    assert app.success[0].value.startswith(f"**{best}** is the best here")
    assert app.dataframe[0].value["Scenario"].iloc[0] == best  # the table is ranked
    assert app.selectbox(key="confusion-scenario").value == best
    assert len(app.get("plotly_chart")) == 2  # the CV chart with its error bars, one large confusion matrix
    misclassified = AppTest.from_file(str(REPO_ROOT / "pages" / "misclassified.py"), default_timeout=60).run()
    assert misclassified.selectbox[0].value == best
