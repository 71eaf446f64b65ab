"""Results: the scenario table, confusion matrices and per-class scores. ``main`` at the bottom shows the
page's flow."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.actions.study import feature_agreements
from core.calibration import DEFAULT_CONFIDENCE, DEFAULT_PRECISION, SCOPES, Promise
from core.dataset import ORIGINAL_VERSION, Dataset
from core.errors import VitrineError
from core.escaping import chart_text, message_markdown, plain_markdown
from core.evaluation import ScenarioResult
from core.hierarchy import MAX_LEVEL, MIN_LISTINGS_AT_LEVEL, SEPARATOR, level_report, parent_confusion, parent_of
from core.labels.compare import COLUMNS, before_after, compare_table
from core.leaderboard import headline, score
from core.results_store import ResultsStore
from core.scenarios.base import Scenario
from core.scenarios.registry import all_scenarios, scenario_named, variants_named
from core.scenarios.variants import TRAIN_SHARES, VARIANTS_NOTE, variant
from core.split import TRAIN_SHARE, assign_split
from core.study_figures import PEER_BEST_ARI, PEER_TEST_ACCURACY, STUDY_NOTE, study_comparison
from core.wording import category_cells, no_cutoff_reason, promise_words, review_columns, sentence
from pages._shared import (
    RUN_PREFIX,
    dataset_or_stop,
    follow_under_way,
    original_dataset,
    queue_run,
    results_store,
    run_shown,
    workspace,
)


def show_split(dataset: Dataset) -> None:
    """The split every scenario shares, with its sizes."""
    split_sizes = assign_split(dataset.listings).value_counts()
    st.caption(f"Every scenario uses the same stratified 80/20 split ({split_sizes.get('train', 0)} train / "
               f"{split_sizes.get('test', 0)} test) and 5-fold cross-validation inside the train split; a "
               "train-share variant (+train70, +train90) splits at its own share, so its test split is smaller or "
               "larger.")


def scenario_results(scenarios: dict[str, Scenario], dataset: Dataset, store: ResultsStore
                     ) -> tuple[dict[str, ScenarioResult], dict[str, str], list[Scenario]]:
    """Each scenario's result (a stored one, else run here when it runs in seconds) and those of the
    retraining variants run so far; the scenarios that cannot run here, with why; those not run yet."""
    results: dict[str, ScenarioResult] = {}
    unavailable: dict[str, str] = {}
    not_run: list[Scenario] = []
    follow_under_way(RUN_PREFIX)  # a run asked for before a reload or from another visit: shown, then its result
    stored = {name: store.load(scenario, dataset.fingerprint) for name, scenario in scenarios.items()}
    # Every quick run queued at once: leaving the page during the first does not hold up the next.
    for name, scenario in scenarios.items():
        if stored[name] is None and scenario.runs_in_seconds:
            queue_run(scenario, dataset)
    for name, scenario in scenarios.items():
        result = stored[name]
        if result is None and scenario.runs_in_seconds:
            result = run_shown(scenario, dataset, asked=False)
        if result is not None:
            results[name] = result
        elif reason := scenario.unavailable_reason():
            unavailable[name] = reason
        else:
            not_run.append(scenario)
    # The retraining variants run so far, each its own row.
    for scenario in variants_named(store.scenario_names(), workspace()):
        if (result := store.load(scenario, dataset.fingerprint)) is not None:
            results[scenario.name] = result
    return results, unavailable, not_run


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _agreements(rows: dict[str, ScenarioResult], dataset: Dataset) -> dict[str, float | None]:
    """Each scenario's k-means ARI (the study action), under a spinner while one is computed."""
    return feature_agreements(rows, dataset, workspace(),
                              lambda name: st.spinner(f"Clustering the features of {name} (once)…"))


def _table(rows: dict[str, ScenarioResult], agreements: dict[str, float | None]) -> pd.DataFrame:
    """The results table: what decides between scenarios, best first."""
    return pd.DataFrame([{
        "Scenario": r.scenario,
        "5-fold CV": "n/a (no training)" if r.cv_mean is None else f"{r.cv_mean:.1%} ± {r.cv_std:.1%}",
        "Test accuracy": _percent(r.test_accuracy),
        "Macro-F1 (test)": f"{r.macro_f1:.3f}",
        "Train accuracy": _percent(r.train_accuracy),
        "k-means ARI": "n/a" if agreements[r.scenario] is None else f"{agreements[r.scenario]:.2f}",
        "Total time": f"{r.seconds['total']:.1f} s",
        "Study (test)": study_comparison(r.scenario, r.test_accuracy),
    } for r in _ranked(rows)])


def acceptance_section(rows: dict[str, ScenarioResult]) -> None:
    """The promise made of what is accepted without review, and whether it held on the test split: listings
    neither the model nor its cut-off saw."""
    st.subheader("Accepted without review")
    picked = st.columns(3)
    promise = Promise(
        picked[0].number_input("Target precision", 0.5, 0.999, DEFAULT_PRECISION, 0.005, format="%.3f",
                               key="acceptance-target"),
        picked[1].number_input("Confidence of the guarantee", 0.5, 0.999, DEFAULT_CONFIDENCE, 0.01, format="%.3f",
                               key="acceptance-confidence"),
        picked[2].selectbox("Cut-off", SCOPES, key="acceptance-scope"))
    thresholds = {r.scenario: r.review_threshold(promise.target_precision, promise.confidence_level, promise.scope)
                  for r in _ranked(rows)}
    st.dataframe(pd.DataFrame([{"Scenario": name, **review_columns(rows[name], threshold)}
                               for name, threshold in thresholds.items()]), hide_index=True, width="stretch")
    verdicts = {name: rows[name].test_coverage(t).verdict(promise.target_precision) for name, t in thresholds.items()}
    broken = [name for name, verdict in verdicts.items() if verdict == "not held"]
    st.caption(f"Each cut-off is chosen on the scenario's held-out (out-of-fold) predictions over the train split by "
               f"Learn-then-Test, so that what it accepts is {plain_markdown(promise_words(promise))} on new listings "
               "like them; the test split, which neither the model nor the cut-off saw, checks it. The interval "
               "is the exact 95% binomial interval of the precision measured there.")
    if not all(t.accepts_any() for t in thresholds.values()):
        st.caption(plain_markdown(no_cutoff_reason(promise)))
    if broken:
        st.error(f"The promise did not hold on the test split for {plain_markdown(', '.join(broken))}: its whole "
                 "interval is below the target.")
    with st.expander("Each category's cut-off"):
        name = st.selectbox("Scenario", list(thresholds), key="acceptance-categories")
        threshold = thresholds[name]
        if threshold.scope_reason:
            st.caption(plain_markdown(sentence(f"Auto chose {threshold.scope_reason}")))
        st.dataframe(pd.DataFrame(category_cells(rows[name], threshold)), hide_index=True, width="stretch")


def _details(rows: dict[str, ScenarioResult]) -> pd.DataFrame:
    """What each row is and where its time went."""
    return pd.DataFrame([{
        "Scenario": r.scenario,
        "Description": r.description,
        "Model": r.model_id,
        "Embedding / training / prediction / CV": " / ".join(  # the parts of the total
            f"{r.seconds[k]:.1f} s" for k in ("embedding", "training", "prediction", "cross_validation")),
        "Cache": f"{r.cache_hits} hits, {r.computed} computed",
        "Listings skipped": r.skipped,
    } for r in _ranked(rows)])


def _ranked(rows: dict[str, ScenarioResult]) -> list[ScenarioResult]:
    return sorted(rows.values(), key=score, reverse=True)


def _cv_chart(rows: dict[str, ScenarioResult]) -> go.Figure:
    """Each scenario's 5-fold CV mean with its spread as error bars, so that noise is visible. Dots, not
    bars: the axis starts near the lowest score, and a bar's length would exaggerate the differences."""
    ranked = [r for r in _ranked(rows) if r.cv_mean is not None][::-1]  # best on top
    figure = go.Figure(go.Scatter(
        x=[r.cv_mean for r in ranked], y=[chart_text(r.scenario) for r in ranked], mode="markers",
        marker=dict(color="#0f766e", size=10),
        error_x=dict(type="data", array=[r.cv_std for r in ranked], visible=True),
        hovertemplate="%{y}: %{x:.1%} ± %{error_x.array:.1%}<extra></extra>"))
    low = min((r.cv_mean - 2 * r.cv_std for r in ranked), default=0.0)
    figure.update_layout(height=80 + 36 * len(ranked), xaxis_title="5-fold CV accuracy (mean ± std)",
                         xaxis_tickformat=".0%", xaxis_range=[max(0.0, low), 1.0], margin=dict(l=10, r=10, t=10, b=10))
    return figure


def scores_section(results: dict[str, ScenarioResult], dataset: Dataset) -> None:
    """The scores: the leader, the CV chart, the results table and its details, what is accepted without
    review, the study's figures and each scenario's notes."""
    if (lead := headline(results)) is not None:
        st.success(lead.text, icon=":material/emoji_events:")
    if any(r.cv_mean is not None for r in results.values()):
        st.plotly_chart(_cv_chart(results), width="stretch", key="cv-chart")
    st.dataframe(_table(results, _agreements(results, dataset)), hide_index=True, width="stretch",
                 column_config={
        "Scenario": st.column_config.TextColumn(pinned=True),  # stays in view while the table scrolls
        "k-means ARI": st.column_config.TextColumn(
            help="How well the scenario's features group the listings by category without being told the labels; "
                 "n/a where its features cannot be read here"),
        "Study (test)": st.column_config.TextColumn(
            help="The original study's test accuracy for this set-up, and this run's difference to it")})
    st.caption("5-fold CV: the train split cut into 5 parts, each predicted by a model trained on the other 4; "
               "its mean ± spread shows how much one split's accuracy can move. Macro-F1: the F1 score of each "
               "category averaged with equal weight, so a category the model neglects pulls it down. k-means ARI: the "
               "adjusted Rand index of k-means (one cluster per category) on the scenario's features against the "
               f"labels, 1 when the clusters are the categories, 0 when no better than chance (the study's peers "
               f"report {PEER_BEST_ARI:.2f} at best); the Map of the listings page shows those features.")
    peers = "; ".join(f"{approach} {accuracy:.1%}" for approach, accuracy in PEER_TEST_ACCURACY)
    st.caption(f"Study (test): the published figure of the original study on this data set ({STUDY_NOTE}). "
               f"Public results of other approaches, test accuracy: {peers}.")
    with st.expander("Details: description, model, where the time went, cache"):
        st.dataframe(_details(results), hide_index=True, width="stretch")
    acceptance_section(results)
    for result in results.values():
        for note in result.notes:
            st.caption(f"{plain_markdown(result.scenario)}: {message_markdown(note)}")


def run_buttons(not_run: list[Scenario], dataset: Dataset) -> None:
    """A button per scenario not run yet; the page reruns once one has."""
    for scenario in not_run:
        if st.button(f"Run {scenario.name}", help=scenario.description):
            if run_shown(scenario, dataset) is not None:
                st.rerun()


def variant_ui(scenarios: dict[str, Scenario], results: dict[str, ScenarioResult], dataset: Dataset) -> None:
    """A form that runs a retraining variant of a scenario (train share, greyscale photos, keywords)."""
    with st.expander("Retraining variants: train share, greyscale photos, keyword weighting"):
        st.caption("Each variant is a scenario of its own, with its own row above and 5-fold CV inside its train "
                   "split (one split moves accuracy by about 3 points). " + VARIANTS_NOTE)
        with st.form("variant"):
            columns = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
            base_name = columns[0].selectbox("Scenario",
                                             [n for n, s in scenarios.items() if not s.unavailable_reason()])
            share = columns[1].radio("Train share", TRAIN_SHARES, index=TRAIN_SHARES.index(TRAIN_SHARE),
                                     format_func=lambda v: f"{v:.0%}", horizontal=True)
            grey = columns[2].checkbox("Greyscale", help="Greyscale photos (the scenarios that read photos)")
            keywords = columns[3].checkbox("Keywords", help="Keyword weighting (tfidf and tfidf_specs)")
            asked = st.form_submit_button("Run the variant")
        if not asked:
            return
        try:
            chosen = variant(scenarios[base_name], share, grey, keywords)
        except VitrineError as exc:
            st.warning(message_markdown(exc))
            return
        if chosen.name in results:
            st.info(f"{plain_markdown(chosen.name)} has run already: its row is in the table above.")
        elif run_shown(chosen, dataset) is not None:
            st.rerun()


def before_after_section(results: dict[str, ScenarioResult], dataset: Dataset, store: ResultsStore) -> None:
    """Each scenario's test accuracy before and after the corrections of the data version shown."""
    st.subheader(f"Before and after the corrections of {plain_markdown(dataset.version)}")
    original = original_dataset()
    pairs = {name: store.load(scenario_named(name, workspace()), original.fingerprint) for name in results}
    rows = [before_after(before, results[name]) for name, before in pairs.items() if before is not None]
    if rows:
        # Short headers, the long names (the CLI's) in their help: the table fits beside a 1280 px window.
        trained = {"before": "the model trained on the original data", "after": "the model trained on the "
                   "corrected data"}
        accuracy = {f"{when}_{labels}": st.column_config.NumberColumn(
            f"{when.capitalize()}, {labels} labels", format="percent",
            help=f"Test accuracy of {trained[when]}, scored against the {labels} labels")
            for when in ("before", "after") for labels in ("original", "corrected")}
        st.dataframe(compare_table(rows), hide_index=True, width="stretch", column_config={
            COLUMNS["scenario"]: st.column_config.TextColumn("Scenario", pinned=True),
            **{COLUMNS[key]: config for key, config in accuracy.items()},
            COLUMNS["test_labels_changed"]: st.column_config.NumberColumn("Test labels changed"),
            COLUMNS["train_labels_changed"]: st.column_config.NumberColumn("Train labels changed")})
    st.caption("Both versions use the same split, made on the original labels, so a corrected test label never "
               "trains a model. 'Original labels' scores against the data set as loaded, 'corrected labels' "
               "against the operators' corrections. The 5 cross-validation folds inside the train split are drawn "
               "on each version's own labels, so a few corrections reshuffle them: on a small data set its mean ± "
               "spread can move by several points for that reason alone.")
    if missing := [name for name, before in pairs.items() if before is None]:
        st.caption(f"Not yet run on the original data: {plain_markdown(', '.join(missing))} (switch the data "
                   "version under the page title, or `python -m core labels compare --scenario NAME`).")


def show_unavailable(unavailable: dict[str, str]) -> None:
    """The scenarios that cannot run here, each with why, folded."""
    # Folded: on a machine without the models, four long notes would stand between the table and the matrix.
    with st.expander(f"{len(unavailable)} scenario(s) cannot run here: {plain_markdown(', '.join(unavailable))}. "
                     "Why, and how to get their models", icon=":material/warning:"):
        for name, reason in unavailable.items():
            st.warning(f"**{plain_markdown(name)}**: {message_markdown(reason)}")


def confusion_ui(results: dict[str, ScenarioResult]) -> None:
    """The confusion matrix of the scenario picked, in counts or row shares."""
    st.subheader("Confusion matrix (test split)")
    picked = st.columns([2, 2], vertical_alignment="bottom")
    names = [r.scenario for r in _ranked(results)]
    shown_name = picked[0].selectbox("Scenario", names, key="confusion-scenario")
    normalised = picked[1].toggle("Row-normalised (share of each true category)", value=False)
    result = results[shown_name]
    matrix = np.asarray(result.confusion, dtype=float)
    if normalised:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    labels = [chart_text(c) for c in result.classes]
    figure = go.Figure(go.Heatmap(
        z=matrix, x=labels, y=labels, colorscale="Teal", showscale=False,
        text=[[f"{v:.0%}" if normalised else f"{v:.0f}" for v in row] for row in matrix],
        texttemplate="%{text}", hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>",
    ))
    figure.update_layout(xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed", height=620,
                         xaxis=dict(tickangle=-30, automargin=True, tickmode="array", tickvals=labels),
                         yaxis=dict(automargin=True, tickmode="array", tickvals=labels),
                         margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(figure, width="stretch", key="confusion")


def show_per_class(results: dict[str, ScenarioResult]) -> None:
    """Each scenario's precision, recall and F1 per category, folded."""
    with st.expander("Per-class precision, recall and F1 (test split)"):
        for result in results.values():
            frame = pd.DataFrame(result.per_class).T[["precision", "recall", "f1-score", "support"]]
            st.markdown(f"**{plain_markdown(result.scenario)}**")
            st.dataframe(frame.style.format({"precision": "{:.1%}", "recall": "{:.1%}", "f1-score": "{:.3f}",
                                             "support": "{:.0f}"}), width="stretch")


def _scenario_of(name: str) -> Scenario | None:
    """The scenario of a stored result's name; None for a name this version no longer offers."""
    try:
        return scenario_named(name, workspace())
    except KeyError:
        return None


def level_of(name: str) -> int:
    """The level of the category tree a stored result's scenario classifies."""
    found = _scenario_of(name)
    return found.level if found is not None else 1


def level_table(results: list[ScenarioResult]) -> pd.DataFrame:
    """A level's results: the scores, per level above it, and where the back-off files the test split."""
    rows = []
    for r in results:
        test = r.predictions[r.predictions["split"] == "test"]
        report = level_report(test["true"].tolist(), test["predicted"].tolist())
        filed = r.test_back_off(r.back_off()) if r.level > 1 else None
        scenario = _scenario_of(r.scenario)
        top_down = scenario is not None and scenario.top_down
        rows.append({"Scenario": r.scenario, "Classifier": "top-down" if top_down else "flat",
                     "5-fold CV": "n/a" if r.cv_mean is None else f"{r.cv_mean:.1%} ± {r.cv_std:.1%}",
                     "Test accuracy": _percent(r.test_accuracy), "Macro-F1": f"{r.macro_f1:.3f}",
                     "Level 1 right": _percent(report["level1_accuracy"]),
                     "Hierarchical F1": f"{report['hierarchical_f1']:.3f}",
                     "Filed, deepest first": " / ".join(str(filed["filed"][k]) for k in sorted(filed["filed"],
                                                                                               reverse=True))
                     if filed else "n/a",
                     "To review": filed["to_review"] if filed else None,
                     "Filed and right": f"{filed['right']} of {filed['accepted']}" if filed else "n/a"})
    return pd.DataFrame(rows)


def level_section(level: int, results: dict[str, ScenarioResult], scenarios: dict[str, Scenario],
                  dataset: Dataset) -> None:
    """A level below the first: its results, a way to run a text scenario there, and the confusion within
    a parent."""
    example = " > ".join(["Home Furnishing", "Bed Linen", "Blankets, Quilts & Dohars"][:level])
    st.caption(f"At level {level} a category is a path of the tree ({example}); sub-categories "
               f"with fewer than {MIN_LISTINGS_AT_LEVEL} listings are merged into \"other\" under their parent (the "
               "Data quality page lists them). Flat: one classifier over every path; top-down: the first level's, "
               "then one per parent. Each listing is filed at the deepest level whose review cut-off it passes.")
    runnable = [n for n, s in scenarios.items() if s.trained and not s.unavailable_reason() and s.runs_in_seconds]
    with st.form(f"level-{level}"):
        columns = st.columns([3, 1], vertical_alignment="bottom")
        base = columns[0].selectbox("Scenario", runnable, key=f"level-{level}-scenario")
        asked = columns[1].form_submit_button(f"Run at level {level}")
    if asked and base:
        for top_down in (False, True):
            if variant(scenarios[base], level=level, top_down=top_down).name not in results:
                run_shown(variant(scenarios[base], level=level, top_down=top_down), dataset)
        st.rerun()
    if not results:
        st.info(f"Nothing has run at level {level} yet: pick a scenario above and press \"Run at level {level}\".")
        return
    st.dataframe(level_table(_ranked(results)), hide_index=True, width="stretch",
                 column_config={"Scenario": st.column_config.TextColumn(pinned=True, width="medium"),
                                "Classifier": st.column_config.TextColumn(
                                    help="Flat: one classifier over every path; top-down: the first level's, then "
                                    "one per parent"),
                                "Filed, deepest first": st.column_config.TextColumn(
                                    help=f"Test listings filed at level {level}, then at each level above"),
                                "Filed and right": st.column_config.TextColumn(
                                    help="Of the test listings filed, those right at the level they were filed at")})
    st.caption("Level 1 right: the share of test listings whose first-level category is right. Hierarchical F1: "
               "credit for every right ancestor of the answer (Kiritchenko et al.).")
    parent_confusion_ui(level, results)


def parent_confusion_ui(level: int, results: dict[str, ScenarioResult]) -> None:
    """The confusion among one parent's sub-categories, with a column for those put under another parent."""
    st.subheader("Confusion within a parent (test split)")
    picked = st.columns(2)
    result = results[picked[0].selectbox("Scenario", [r.scenario for r in _ranked(results)],
                                         key=f"level-{level}-confusion")]
    parents = sorted({parent_of(c) for c in result.classes if parent_of(c)})
    if not parents:
        st.caption("No category is split at this level.")
        return
    parent = picked[1].selectbox("Parent", parents, key=f"level-{level}-parent")
    test = result.predictions[result.predictions["split"] == "test"]
    frame = parent_confusion(test["true"].tolist(), test["predicted"].tolist(), parent)
    frame.index = [chart_text(c.rpartition(SEPARATOR)[2]) for c in frame.index]
    frame.columns = [chart_text(c.rpartition(SEPARATOR)[2]) for c in frame.columns]
    figure = go.Figure(go.Heatmap(z=frame.to_numpy(), x=list(frame.columns), y=list(frame.index), colorscale="Teal",
                                  showscale=False, text=frame.to_numpy(), texttemplate="%{text}",
                                  hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>"))
    figure.update_layout(xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed",
                         height=140 + 40 * len(frame), margin=dict(l=10, r=10, t=10, b=10),
                         xaxis=dict(tickangle=-30, automargin=True), yaxis=dict(automargin=True))
    st.plotly_chart(figure, width="stretch", key=f"level-{level}-confusion-chart")


def main() -> None:
    """The page: the scores of every scenario run, ways to run more, then their confusion matrices; a level of
    the category tree below the first shows its own."""
    st.title("Scenario results")
    dataset = dataset_or_stop()
    show_split(dataset)
    store = results_store()
    scenarios = all_scenarios(workspace())
    results, unavailable, not_run = scenario_results(scenarios, dataset, store)
    level = st.radio("Level of the category tree", range(1, MAX_LEVEL + 1), horizontal=True,
                     format_func=lambda n: f"first ({len(dataset.categories)} categories)" if n == 1 else f"level {n}",
                     help="The study classifies the first level; a marketplace files listings deeper.")
    if level > 1:
        level_section(level, {n: r for n, r in results.items() if level_of(n) == level}, scenarios, dataset)
        return
    results = {n: r for n, r in results.items() if level_of(n) == 1}
    if results:
        scores_section(results, dataset)
    run_buttons(not_run, dataset)
    variant_ui(scenarios, results, dataset)
    if results and dataset.version != ORIGINAL_VERSION:
        before_after_section(results, dataset, store)
    if unavailable:
        show_unavailable(unavailable)
    if results:
        confusion_ui(results)
        show_per_class(results)


main()
