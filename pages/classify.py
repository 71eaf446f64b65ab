"""Classify a batch: upload a CSV of new listings (and a zip of their photos), classify every row with
a scenario, filter and download the result, and send the doubtful listings to the operators. ``main`` at
the bottom shows the page's flow."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.actions.classify import UploadRun, classify_upload
from core.calibration import DEFAULT_CONFIDENCE, DEFAULT_PRECISION, SCOPES, Promise
from core.classify.job import NOT_CLASSIFIED, OK, TEXT_ONLY
from core.dataset import Dataset
from core.errors import VitrineError
from core.escaping import chart_text, message_markdown, plain_markdown
from core.exports import to_csv_text
from core.jobs import CANCELLED, DONE
from core.scenarios.base import Scenario
from core.scenarios.registry import all_scenarios
from core.wording import sentence
from pages._shared import (
    best_index,
    category_colours,
    dataset_or_stop,
    fitting_width,
    follow,
    job_board,
    stored_results,
    workspace,
)

RUN = "classify_run"  # the last run, kept so that filtering the table does not classify again
JOB = "batch"  # the address's parameter naming the run's job: a reload finds it
STATUSES = {"every status": None, "ok": OK, "text only": TEXT_ONLY, "not classified": NOT_CLASSIFIED}
SORTS = {"input order": None, "confidence, lowest first": True, "confidence, highest first": False}
# The status right after the product: why a row has no prediction is seen without scrolling sideways.
# The answer first (what the model said, how sure, whether a person checks it, why not), then the product.
FRONT = ["predicted", "confidence", "needs_review", "status", "product", "id"]


@dataclass(frozen=True)
class Request:
    """What the form asked for: the files, the scenario and the promise's parts (made a Promise only when
    the batch runs)."""

    listings: UploadedFile | None
    photos: UploadedFile | None
    scenario: str
    precision: float
    confidence: float
    scope: str
    review_unlike: bool


@dataclass(frozen=True)
class Filters:
    """How the operator filters and sorts the output table."""

    categories: list[str]
    status: str | None  # the start of the status kept; None keeps every row
    ascending: bool | None  # confidence order; None keeps the input order
    doubtful: bool  # the rows that need review only


def request_form(scenarios: dict[str, Scenario], runnable: list[str], dataset: Dataset) -> Request | None:
    """The upload form; what it asked for once submitted, else None."""
    limit = st.get_option("server.maxUploadSize")
    with st.form("classify"):
        listings = st.file_uploader("Listings (CSV)", type=["csv"], help=f"Up to {limit} MB")
        photos = st.file_uploader("Their photos (optional zip)", type=["zip"],
                                  help=f"Up to {limit} MB; the CSV's photo column gives each photo's path in the zip")
        name = st.selectbox("Scenario", runnable, index=best_index(runnable, stored_results(dataset)),
                            format_func=lambda n: f"{n}: {scenarios[n].description}")
        columns = st.columns(3)
        precision = columns[0].number_input(
            "Target precision", min_value=0.5, max_value=1.0, value=DEFAULT_PRECISION, step=0.005, format="%.3f",
            help="Of the listings accepted without review, at least this share must be right")
        confidence = columns[1].number_input(
            "Confidence of the guarantee", min_value=0.5, max_value=0.999, value=DEFAULT_CONFIDENCE, step=0.01,
            format="%.3f", help="How sure the cut-off must be to keep the target on new listings: 0.9 allows a "
                                "miss 1 time in 10")
        scope = columns[2].selectbox("Cut-off", SCOPES, help="One for all listings, one per predicted category, or "
                                     "(auto) whichever accepts more with the same guarantee")
        review_unlike = st.checkbox("Send the whole batch to review if it is unlike the calibration data",
                                    help="Its guarantee holds only for listings like those it was calibrated on")
        submitted = st.form_submit_button("Classify", type="primary")
    return Request(listings, photos, name, precision, confidence, scope, review_unlike) if submitted else None


def show_missing(scenarios: dict[str, Scenario], runnable: list[str]) -> None:
    """The scenarios not offered because this machine lacks their model weights."""
    missing = [name for name in scenarios if name not in runnable]
    if missing:
        # Said here, not left to guess: the scenarios whose model weights this machine lacks.
        st.caption(f"Not offered, their models are not on this machine: {', '.join(missing)}. The Models page "
                   "(Data and models) downloads or imports them.")


def classify(request: Request, dataset: Dataset) -> None:
    """Start the batch as a job (the same files asked again follow the job under way); its key goes in the
    address, so that leaving the page or reloading it finds the run again."""
    upload, photo_zip = request.listings, request.photos
    listings = upload.getvalue()
    photos = (photo_zip.name, photo_zip.getvalue()) if photo_zip else None
    promise = Promise(request.precision, request.confidence, request.scope, request.review_unlike)
    asked = hashlib.sha256(listings + (photos[1] if photos else b"")
                           + repr((upload.name, photos and photos[0], request.scenario, promise)).encode())
    key = f"classify {asked.hexdigest()[:20]}"
    # The same files asked again: classified again once the last run of them has finished.
    job_board().start(key, f"Classifying {plain_markdown(upload.name)} with {request.scenario}",
                      lambda progress: classify_upload(workspace(), upload.name, listings, photos, request.scenario,
                                                       dataset, promise, progress))
    st.query_params[JOB] = key


def collect_run() -> None:
    """The run the address names, followed until it has finished: once done it replaces the page's last
    run; a failure or a cancel is said once, the last run's table staying."""
    key = st.query_params.get(JOB)
    job = job_board().get(key) if key else None
    if job is None:
        return
    follow(job)
    if job.state == DONE:
        if (previous := st.session_state.get(RUN)) is not job.result:
            if previous is not None:
                previous.discard()
            st.session_state[RUN] = job.result
            st.session_state.pop("sent", None)
        return
    if job.state == CANCELLED:
        message = "The batch was cancelled."
    elif isinstance(job.error, VitrineError):
        message = str(job.error)
    else:  # the page's edge: a message for the user; the job logged the details
        message = f"The batch failed: {job.error}. The terminal that runs the app has the details."
    if (previous := st.session_state.get(RUN)) is not None:  # its table stays: say whose it is
        message += f" The results below are still those of {previous.name}."
    (st.info if job.state == CANCELLED else st.error)(message_markdown(message))
    job_board().forget(job)
    del st.query_params[JOB]


@st.cache_data(max_entries=2, show_spinner=False)
def output_table(path: str, _run) -> pd.DataFrame:
    """The run's output with each row's product name beside its id (read again from the upload)."""
    table = pd.read_parquet(path)
    names = _run.product_names()
    if any(names):  # a file without product names gets no empty column
        table.insert(1, "product", names)
    return table


def show_summary(run: UploadRun) -> None:
    """The run's summary: its counts and speed, its cut-off, repeated ids, unread photos, and whether the
    cut-off's guarantee applies to this batch."""
    st.subheader(f"{plain_markdown(run.name)}, classified by {run.scenario}")
    summary = run.summary
    for line in summary.lines()[:2] + [f"{summary.listings_per_second:,.0f} listings per second",
                                       f"Review cut-off: {run.review}"]:
        st.caption(plain_markdown(line))
    if summary.repeated_ids:
        st.warning(plain_markdown(sentence(summary.repeats_line())))
    if summary.unread_photos:
        st.info(plain_markdown(sentence(summary.photos_line())))
    if summary.without_specifications:
        st.info(plain_markdown(sentence(summary.specifications_line())))
    if summary.check is not None:  # whether the cut-off's guarantee applies to this batch
        (st.warning if summary.check.unlike else st.caption)(plain_markdown(sentence(summary.check.line())))
    if run.unrecorded:
        st.warning(message_markdown(run.unrecorded))


def filters_ui(table: pd.DataFrame) -> Filters:
    """The filters and the sort the operator picks for the output table."""
    filters = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    categories = sorted(table["predicted"].dropna().unique())
    chosen = filters[0].multiselect("Predicted category", categories, placeholder="every category")
    status = STATUSES[filters[1].selectbox("Status", list(STATUSES))]
    order = SORTS[filters[2].selectbox("Sort", list(SORTS))]
    doubtful = filters[3].toggle("Needs review only")
    return Filters(chosen, status, order, doubtful)


def filtered(table: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows of ``table`` the filters keep, in their order."""
    shown = table
    if filters.categories:
        shown = shown[shown["predicted"].isin(filters.categories)]
    if filters.status is not None:
        shown = shown[shown["status"].str.startswith(filters.status)]
    if filters.doubtful:
        shown = shown[shown["needs_review"]]
    if filters.ascending is not None:
        shown = shown.sort_values("confidence", ascending=filters.ascending, na_position="first", kind="stable")
    return shown


def show_table(shown: pd.DataFrame, total: int) -> None:
    """The rows shown, out of ``total``: the answer first, the product after."""
    st.caption(f"{len(shown):,} of {total:,} row(s)")
    in_front = [c for c in FRONT if c in shown]  # a file without product names has no product column
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_order=in_front + [c for c in shown if c not in FRONT], column_config={
        "predicted": st.column_config.TextColumn("Predicted", width=fitting_width(shown["predicted"]), pinned=True),
        "confidence": st.column_config.NumberColumn("Confidence", format="percent", width="small"),
        "needs_review": st.column_config.CheckboxColumn("Needs review", width=110),
        "status": st.column_config.TextColumn("Status", width="medium"),
        "product": st.column_config.TextColumn("Product", width="medium"),
        "id": st.column_config.TextColumn("Id", width="small"),
        **{f"top_{k}_probability": st.column_config.NumberColumn(f"top_{k} probability", format="percent")
           for k in range(1, 4)}})


def confidence_chart(classified: pd.DataFrame, categories: list[str]) -> go.Figure:
    """The confidences of the classified rows, stacked per predicted category in the map's colours."""
    colours = category_colours(categories)  # the map's colours
    # Stacked, not overlaid: every category keeps its own colour, and a bar's height is all its listings.
    figure = go.Figure([go.Histogram(x=rows["confidence"], name=chart_text(category),
                                     marker_color=colours.get(category), xbins=dict(start=0, end=1, size=0.05))
                        for category, rows in classified.groupby("predicted")])
    tallest = np.histogram(classified["confidence"], bins=20, range=(0, 1))[0].max()
    figure.update_layout(barmode="stack", height=320, margin=dict(l=10, r=10, t=30, b=10),
                         title="Confidence per predicted category, of the rows shown",
                         xaxis=dict(range=[0, 1], tickformat=".0%"),
                         yaxis=dict(title="listings", dtick=max(1, math.ceil(tallest / 5))))  # whole listings
    return figure


def downloads_ui(run: UploadRun, table: pd.DataFrame, shown: pd.DataFrame) -> None:
    """The output as CSV or Parquet (all its rows, or the rows the filters show), and a button that sends
    the flagged listings to review (or what sending them did, with a link to the review page)."""
    stem = run.name.rsplit(".", 1)[0] or "batch"
    row = st.container(horizontal=True)  # the buttons wrap onto a second line at 800 px, none cut short
    every = f"all {len(table):,} rows" if len(table) != 1 else "the 1 row"
    # A download changes nothing on the page: no rerun, which would also drop a file prepared for a second click.
    row.download_button(f"Download {every} (CSV)", to_csv_text(table), f"{stem}.{run.scenario}.csv", "text/csv",
                        on_click="ignore", width="content")
    row.download_button(f"Download {every} (Parquet)", lambda: table.to_parquet(index=False),
                        f"{stem}.{run.scenario}.parquet", "application/vnd.apache.parquet", on_click="ignore",
                        width="content")
    if len(shown) < len(table):
        some = f"the {len(shown):,} rows shown" if len(shown) != 1 else "the 1 row shown"
        row.download_button(f"Download {some} (CSV)", to_csv_text(shown), f"{stem}.{run.scenario}.shown.csv",
                            "text/csv", on_click="ignore", width="content",
                            help="The rows the filters above keep, in their order")
    flagged = int(table["needs_review"].sum())
    sent = st.session_state.get("sent")
    if sent is not None:
        (st.success if sent.flagged else st.info)(sentence(sent.outcome(flagged)))
        if sent.flagged:
            st.page_link("pages/review.py", label="Answer them on the review page", icon=":material/rate_review:")
    elif flagged and row.button("Send the flagged listings to review", type="primary", width="content",
                                help=f"{flagged} row(s) need review; those that could not be read, or have nothing "
                                     "to show an operator, stay out"):
        try:
            st.session_state["sent"] = run.send_to_review(workspace())
            st.rerun()
        except VitrineError as exc:
            st.error(message_markdown(exc))


def main() -> None:
    """The page: the upload form, then the last run's summary, its filtered table, chart and downloads."""
    st.title("Classify a batch")
    st.caption("One row out per row in: the predicted category, its confidence, the top 3, whether it needs "
               "review and a status. The CSV needs an id column (uniq_id or id) and a description or "
               "product_name; an optional photo column names each photo by its path in the zip.")
    dataset = dataset_or_stop()
    scenarios = all_scenarios(workspace())
    runnable = [name for name, s in scenarios.items() if s.unavailable_reason() is None]
    request = request_form(scenarios, runnable, dataset)
    show_missing(scenarios, runnable)
    if request is not None:
        if request.listings is None:
            st.warning("Choose a CSV file of listings first.")
        else:
            classify(request, dataset)
    collect_run()
    run: UploadRun | None = st.session_state.get(RUN)
    if run is None:
        return
    if not run.output.exists():  # uploads are kept a day
        st.info(f"The files of {plain_markdown(run.name)} are no longer kept (a day after its run): classify it "
                "again to see its results.")
        return
    show_summary(run)
    table = output_table(str(run.output), run)
    shown = filtered(table, filters_ui(table))
    show_table(shown, len(table))
    classified = shown.dropna(subset=["confidence"])  # the chart follows the filters, as the table does
    if not classified.empty:
        st.plotly_chart(confidence_chart(classified, dataset.categories), width="stretch")
    downloads_ui(run, table, shown)


main()
