"""What every page shares: the workspace, the dataset and results store, loaded once, and progress display."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly.colors
import plotly.graph_objects as go
import streamlit as st
from PIL import Image
from streamlit.delta_generator import DeltaGenerator

from core.actions.explain import ScenarioExplanations
from core.dataset import ORIGINAL_VERSION, Dataset, load_dataset
from core.errors import VitrineError
from core.escaping import chart_text, html_text, message_markdown, plain_markdown
from core.evaluation import ScenarioResult
from core.explain.display import (
    highlighted_html,
    photo_with_heatmap,
    shown_part,
    top_words,
    words_against,
    words_for,
)
from core.explain.explanation import Explanation
from core.jobs import CANCELLED, DONE, WAITING, Job, JobBoard
from core.labels.versions import apply_version, selected_version, version_names
from core.leaderboard import best_scenario
from core.locations import SAMPLE_NOTICE, data_dir, find_csv
from core.progress import Progress
from core.results_store import ResultsStore
from core.review.answer_store import ReviewStore
from core.review.leads import LeadStore
from core.runs import run_scenario
from core.scenarios.base import Scenario
from core.scenarios.registry import all_scenarios, scenario_named, variants_named
from core.workspace import Workspace

VERSION_PICKER = "data_version_picker"
DISPLAY_SIDE = 480  # photos are downscaled to this before they reach the browser
WORD_LEGEND = ("The deeper the teal, the more a word counted for {target} (hover for its share). Greyed and struck "
               "through: words past CLIP's 77-token window, which the model did not read.")
WORD_LEGEND_SIGNED = ("Teal words speak for {target}, red words against it, the deeper the more (hover for the "
                      "contribution); words the model never met in training are left plain.")
MAX_DESCRIPTION_SHOWN = 5000  # characters highlighted on screen (CLIP reads far fewer)


def workspace() -> Workspace:
    """The app's workspace, read from the environment on each run (cheap), so that a test's is the one seen."""
    return Workspace.from_environment()


@st.cache_data(show_spinner="Loading the listings…")
def _load_dataset(folder: str, csv_modified: float, versions: Path, version: str = ORIGINAL_VERSION) -> Dataset:
    return apply_version(versions, load_dataset(Path(folder)), version)


def original_dataset() -> Dataset:
    """The listings as loaded, before any correction (call after ``dataset_or_stop``)."""
    folder = data_dir()
    return _load_dataset(str(folder), find_csv(folder).stat().st_mtime, workspace().versions)


def _chosen_version() -> tuple[str, DeltaGenerator | None]:
    """The data version picked, and the popover it is picked in (None while the original is the only
    version): a button under the page's title rather than a sidebar, which would take 300 px from every
    page's tables for one picker."""
    versions = [ORIGINAL_VERSION, *version_names(workspace().versions)]
    if len(versions) == 1:
        return ORIGINAL_VERSION, None
    # Kept in the session across pages, and in the address so that a reload keeps it too.
    current = (st.session_state.get("chosen_data_version") or st.query_params.get("data_version")
               or selected_version())
    current = current if current in versions else ORIGINAL_VERSION
    shown = st.session_state.get(VERSION_PICKER, current)
    picker = st.popover(f"Data version: {plain_markdown(shown)}", icon=":material/database:")
    chosen = picker.selectbox("Data version", versions, index=versions.index(current), key=VERSION_PICKER,
                              help="The listings as loaded, or a version with the operators' label corrections "
                              "applied (`python -m core labels apply`).")
    st.session_state["chosen_data_version"] = chosen
    if chosen == ORIGINAL_VERSION:
        st.query_params.pop("data_version", None)
    else:
        st.query_params["data_version"] = chosen
    return chosen, picker


def dataset_or_stop(usable: bool = True) -> Dataset:
    """The listings (in the data version picked under the page's title), or a clear message and the page stops
    (no stack trace). With ``usable``, the page also stops when the listings cannot be classified
    (fewer than two categories left). On the sample shipped with Vitrine, the page says so and how to
    get the full data set.

    Loaded once per data folder, CSV version and data version, so an import or an edit of the CSV shows up.
    """
    try:
        folder = data_dir()
        version, picker = _chosen_version()
        dataset = _load_dataset(str(folder), find_csv(folder).stat().st_mtime, workspace().versions, version)
        if version != ORIGINAL_VERSION:
            changed = int((dataset.listings["category"] != dataset.listings["original_category"]).sum())
            picker.caption(f"On data version {plain_markdown(version)}: {changed} label(s) corrected by operators.")
    except VitrineError as exc:
        st.error(message_markdown(exc))
        st.stop()
    if dataset.is_sample:
        st.info(SAMPLE_NOTICE, icon=":material/info:")
    if usable and (reason := dataset.unusable_reason()):
        st.error(message_markdown(reason))
        st.stop()
    return dataset


def results_store() -> ResultsStore:
    """The workspace's results store."""
    return workspace().results_store()


class StreamlitProgress:
    """A progress callback drawing a progress bar with the current step."""

    def __init__(self, label: str):
        self.label = label
        self.bar = st.progress(0.0, text=label)

    def __call__(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.bar.progress(min(done / total, 1.0), text=f"{self.label}: {message} ({done}/{total})")
        else:  # the total is not known ahead (a batch read in chunks): the count done so far
            self.bar.progress(0.0, text=f"{self.label}: {message} ({done:,} done)")

    def close(self) -> None:
        self.bar.empty()


@st.cache_resource
def _job_board(work_folder: str) -> JobBoard:
    return JobBoard()


def job_board() -> JobBoard:
    """The app server's jobs on the workspace, shared by every session (work on another workspace, whose
    results go elsewhere, is other work)."""
    return _job_board(str(workspace().root))


def _job_text(job: Job) -> str:
    """Where the job stands, in words; the seconds it has run keep it moving where a step takes long."""
    if job.state == WAITING:
        ahead = [j.label for j in job_board().unfinished() if j.asked_at < job.asked_at]
        return f"{job.label}: waiting for {ahead[0] if ahead else 'the job before it'} to finish"
    step = f"{job.message}, step {min(job.done + 1, job.total)} of {job.total}" if job.total > 1 else job.message
    return f"{job.label}: {step or 'starting'} ({job.seconds:.0f} s)"


def follow(job: Job) -> Job:
    """The job's progress, with a button to cancel it, until it has finished; the finished job. Leaving the
    page stops this script, not the job: coming back follows the same job."""
    if not job.finished:
        slot = st.empty()
        with slot.container():
            bar = st.progress(job.share, text=_job_text(job))
            if st.button("Cancel", key=f"cancel {job.key}", help="Stop this run; nothing of it is kept"):
                job.cancel()
        while not job.wait(0.25):
            bar.progress(job.share, text=_job_text(job))  # also where a rerun or a page change stops the script
        slot.empty()
    return job


def under_way(key: str) -> bool:
    """Whether the job ``key`` is waiting or running (started from another visit, or before a reload)."""
    job = job_board().get(key)
    return job is not None and not job.finished


def follow_under_way(prefix: str) -> None:
    """Every job under way whose key starts with ``prefix``, followed until it has finished: a page opened
    during a run it asked for shows that run, then its result."""
    for job in job_board().unfinished():
        if job.key.startswith(prefix):
            follow(job)


def as_job(key: str, label: str, work: Callable[[Progress], Any], what: str, asked: bool = True) -> Any | None:
    """``work`` (given a progress callback) run as the job ``key``, its progress shown until it has finished:
    its result, or None with why (``what`` names the work in the message). A job someone else started (or
    this visitor, before leaving the page) is followed, not started twice; one cancelled is started again
    only when ``asked`` (a button, not a page opening)."""
    board = job_board()
    previous = board.get(key)
    if previous is not None and previous.state == CANCELLED and not asked:
        st.info(f"{what} was cancelled; its button on this page starts it again.")
        return None
    job = follow(board.start(key, label, work))  # a finished job of the same key is replaced: asked again, done again
    if job.state == CANCELLED:
        st.info(f"{what} was cancelled.")
    elif isinstance(job.error, VitrineError):
        st.warning(f"{what} cannot be done: {message_markdown(job.error)}")
    elif job.error is not None:  # the page's edge: a message for the user; the job logged the details
        st.error(f"{what} failed: {plain_markdown(job.error)}. The terminal that runs the app has the details.")
    return job.result if job.state == DONE else None


RUN_PREFIX = "run "


def _run_key(scenario: Scenario, dataset: Dataset) -> str:
    return f"{RUN_PREFIX}{scenario.name} on {dataset.fingerprint}"


def queue_run(scenario: Scenario, dataset: Dataset) -> Job:
    """The job running ``scenario`` on ``dataset`` (its result stored): the one under way, else a new one
    queued; a run cancelled stays cancelled until ``run_shown`` is asked again."""
    board, key = job_board(), _run_key(scenario, dataset)
    if (previous := board.get(key)) is not None and previous.state == CANCELLED:
        return previous
    return board.start(key, f"Running {scenario.name}", _run_work(scenario, dataset))


def _run_work(scenario: Scenario, dataset: Dataset) -> Callable[[Progress], ScenarioResult]:
    store = results_store()
    return lambda progress: run_scenario(scenario, dataset, store, progress=progress)


def run_shown(scenario: Scenario, dataset: Dataset, asked: bool = True) -> ScenarioResult | None:
    """Run ``scenario`` (its result stored) as a job, showing its progress (``as_job``); None, with the reason
    shown, when it fails or is cancelled."""
    return as_job(_run_key(scenario, dataset), f"Running {scenario.name}", _run_work(scenario, dataset),
                  f"The run of {plain_markdown(scenario.name)}", asked)


def stored_results(dataset: Dataset) -> dict[str, ScenarioResult]:
    """The scenarios with a stored result on this dataset (current code and weights), by name."""
    store = results_store()
    found = {}
    for scenario in [*all_scenarios(workspace()).values(), *variants_named(store.scenario_names(), workspace())]:
        if (result := store.load(scenario, dataset.fingerprint)) is not None:
            found[scenario.name] = result
    return found


def best_index(options: list[str], results: dict[str, ScenarioResult]) -> int:
    """Where the best scenario of ``results`` (``core.leaderboard``) stands in ``options``: the default of
    every scenario picker; the first option when none of them has run."""
    best = best_scenario({name: results[name] for name in options if name in results})
    return options.index(best) if best is not None else 0


def runnable_scenarios(scenarios: dict) -> list[str]:
    """The names of the scenarios that can run on this machine; when none can, the page says so (and the
    caller returns)."""
    runnable = [name for name, s in scenarios.items() if s.unavailable_reason() is None]
    if not runnable:
        st.error("No scenario can run on this machine; see the Results page for what is missing.")
    return runnable


def results_or_stop(dataset: Dataset) -> dict[str, ScenarioResult]:
    """The stored results, or a pointer to the Results page and the page stops."""
    results = stored_results(dataset)
    if not results:
        st.info("No scenario has been run yet: run one on the Results page first.")
        st.stop()
    return results


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _explanations(name: str, data_fingerprint: str, weights: str, _dataset: Dataset,
                  place: Workspace) -> ScenarioExplanations:
    # Keyed by the dataset's fingerprint, the weights and the workspace; the dataset itself is not hashed.
    return ScenarioExplanations(scenario_named(name, place), _dataset, place)


def scenario_explanations(name: str, dataset: Dataset) -> ScenarioExplanations:
    """The explain action of one scenario on one dataset, its model loaded once per weights for the whole
    app process."""
    scenario = scenario_named(name, workspace())
    return _explanations(name, dataset.fingerprint, scenario.weights_fingerprint(), dataset, workspace())


@st.cache_resource(show_spinner=False)
def _review_store(url: str) -> ReviewStore:
    return ReviewStore(url)


def review_store() -> ReviewStore:
    """The answers store at the configured place, opened once per place for the app process. One that
    cannot be opened (a damaged file, say) raises ReviewStoreError and, being uncached, is tried again
    on the next run, once the file has been dealt with."""
    return _review_store(workspace().review_url)


@st.cache_resource(show_spinner=False)
def _lead_store(url: str) -> LeadStore:
    return LeadStore(url)


def lead_store() -> LeadStore:
    """The queues' assignments and guidelines, in the review database, opened once per place for the app
    process (tried again on the next run when it cannot be opened, like ``review_store``)."""
    return _lead_store(workspace().review_url)


def show_product_name(name: str) -> None:
    """A listing's name in bold, as plain text: seller text is never read as Markdown or HTML (a name
    could otherwise pull in an outside image or link)."""
    st.html(f'<strong class="vitrine-product">{html_text(name)}</strong>')


def display_size(photo: Image.Image, side: int = DISPLAY_SIDE) -> Image.Image:
    """A copy no larger than ``side`` pixels: what the browser needs, not the full photo."""
    shown = photo.copy()
    shown.thumbnail((side, side))
    return shown


def category_colours(categories: list[str]) -> dict[str, str]:
    """One colour per category of the data set, the same on every chart (colour-blind safe)."""
    palette = plotly.colors.qualitative.Safe
    return {category: palette[i % len(palette)] for i, category in enumerate(categories)}


def probability_chart(probabilities: dict[str, float], highlight: str) -> go.Figure:
    """Class probabilities as horizontal bars, the explained class in colour."""
    ordered = sorted(probabilities.items(), key=lambda item: item[1])
    figure = go.Figure(go.Bar(
        x=[p for _, p in ordered], y=[chart_text(c) for c, _ in ordered], orientation="h",
        marker_color=["#0f766e" if c == highlight else "#cbd5e1" for c, _ in ordered],
        text=[f"{p:.0%}" for _, p in ordered], textposition="auto",
    ))
    figure.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), xaxis=dict(range=[0, 1], tickformat=".0%"))
    return figure


def show_explanation(explanation: Explanation, photo: Image.Image | None, description: str, key: str,
                     opacity: float = 0.5, title: str = "") -> None:
    """Photo with its heatmap, the highlighted title (where the model reads it) and description, and the
    class probabilities."""
    for note in explanation.notes:
        st.warning(message_markdown(note))
    left, right = st.columns([2, 3])
    with left:
        if photo is not None:
            if explanation.photo_grid is not None:
                st.image(photo_with_heatmap(photo, explanation.photo_grid, DISPLAY_SIDE, opacity),
                         caption=f"Where the model looked for “{plain_markdown(explanation.target)}”: the warmer "
                                 "the colour, the more that part of the photo counted")
            else:
                st.image(display_size(photo), caption="This scenario reads the text only")
        else:
            st.info("No photo for this listing.")
        st.plotly_chart(probability_chart(explanation.probabilities, explanation.target), width="stretch",
                        key=f"probabilities-{key}")
    with right:
        if title and explanation.title_words:
            st.html(highlighted_html(title, explanation.title_words, explanation.signed_scores, kind="title"))
        # Escaped HTML even with no word scores (DenseNet): seller text is never read as Markdown.
        shown_text = shown_part(description, MAX_DESCRIPTION_SHOWN)
        st.html(highlighted_html(shown_text, [w for w in explanation.words if w.end <= len(shown_text)],
                                 explanation.signed_scores))
        if len(shown_text) < len(description):
            st.caption(f"Showing the first {len(shown_text):,} of {len(description):,} characters.")
        if explanation.words:
            legend = WORD_LEGEND_SIGNED if explanation.signed_scores else WORD_LEGEND
            st.caption(legend.format(target=f"“{plain_markdown(explanation.target)}”"))
        if explanation.words:
            word_tables(explanation)


def word_tables(explanation: Explanation) -> None:
    """The words that counted most: with signed scores (tfidf), those for the explained class and those
    against it side by side; otherwise (CLIP's shares of relevance) one table."""
    target = f"“{plain_markdown(explanation.target)}”"
    if not explanation.signed_scores:
        st.dataframe(top_words(explanation.words, 8), hide_index=True, width="stretch",
                     column_config={"score": st.column_config.NumberColumn("relevance", format="percent")})
        return
    score = st.column_config.NumberColumn("contribution", format="%+.3f")
    for column, (heading, words) in zip(st.columns(2), ((f"For {target}", words_for(explanation.words, 8)),
                                                        (f"Against {target}", words_against(explanation.words, 8)))):
        column.caption(heading)
        if words.empty:
            column.caption("No word of the text.")
        else:
            column.dataframe(words, hide_index=True, width="stretch", column_config={"score": score})


# Source Sans at the table's 14 px: about 7.5 px a character on average, capitals and "&" included.
PIXELS_PER_CHARACTER, CELL_PADDING = 7.5, 24


def fitting_width(values, least: int = 100, most: int = 420) -> int:
    """A column width, in pixels, that shows the longest of ``values`` whole (between ``least`` and
    ``most``): a category cut to "Home Decor & I" is no answer."""
    longest = max((len(str(v)) for v in values if isinstance(v, str)), default=0)
    return int(min(most, max(least, longest * PIXELS_PER_CHARACTER + CELL_PADDING)))
