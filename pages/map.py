"""Map of the listings: every listing placed by a scenario's features, coloured by category, its mistakes
and likely label errors marked; a click shows the listing's photo and its explanation. ``main``
at the bottom shows the page's flow."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from core.actions.labels import find_label_issues
from core.dataset import Dataset, listing_photo
from core.errors import VitrineError
from core.escaping import chart_text, message_markdown, plain_markdown
from core.evaluation import ScenarioResult
from core.hierarchy import SEPARATOR, at_level, parent_of
from core.labels.issues import LABEL_ISSUES_TABLE
from core.listing_map import IDS, MAP_METHOD, ListingMap, listing_map, marked_points, stored_listing_map
from core.results_store import ResultsStore
from core.scenarios.base import Scenario
from core.scenarios.registry import scenario_named
from core.study_figures import PEER_BEST_ARI
from pages._shared import (
    as_job,
    best_index,
    category_colours,
    dataset_or_stop,
    display_size,
    results_or_stop,
    results_store,
    scenario_explanations,
    show_explanation,
    show_product_name,
    under_way,
    workspace,
)

THUMBNAIL_SIDE = 240
# What marks a point, drawn over its category's colour: (column of ``marked_points``, legend, symbol, size).
MARKS = (("wrong", "Wrong on the test split", "x-thin-open", 11),
         ("label_issue", "Likely label error (cleanlab)", "diamond-open", 15))

def scenario_ui(results: dict[str, ScenarioResult]) -> str:
    """The scenario whose features place the listings (the best one by default)."""
    names = list(results)
    return st.selectbox("Scenario", names, index=best_index(names, results))


def _computed_map(scenario: Scenario, dataset: Dataset, store: ResultsStore) -> ListingMap:
    """The scenario's map: kept beside its result, else computed once (with a progress bar), or the page stops
    with the reason."""
    name = scenario.name
    found = stored_listing_map(scenario, dataset, store)
    if found is not None:
        return found
    if reason := scenario.unavailable_reason():
        st.warning(f"The map of {plain_markdown(name)} needs its features: {message_markdown(reason)}")
        st.stop()
    drawn = as_job(f"map of {name} on {dataset.fingerprint}",
                   f"Drawing the map of {name} (once: {MAP_METHOD} takes seconds to a minute)",
                   lambda progress: listing_map(scenario, dataset, store, progress),
                   f"The map of {plain_markdown(name)}")
    if drawn is None:
        st.stop()
    return drawn


def _label_issues(scenario: Scenario, dataset: Dataset, store: ResultsStore) -> pd.DataFrame | None:
    """cleanlab's ranking of likely label errors for this scenario: kept (``labels issues``, or computed
    here when asked), else None."""
    issues = store.load_table(scenario, dataset.fingerprint, LABEL_ISSUES_TABLE, IDS)
    if issues is not None or scenario.unavailable_reason():
        return issues
    key = f"label issues of {scenario.name} on {dataset.fingerprint}"
    if not st.button("Mark likely label errors", help="cleanlab on probabilities from 5 models, each for the "
                     "listings it did not learn from: seconds for a text scenario, longer for CLIP. Kept, and "
                     "offered on the Operator review page too.") and not under_way(key):
        return None
    found = as_job(key, "Finding likely label errors",
                   lambda progress: find_label_issues(workspace(), scenario, dataset, progress),
                   "Finding likely label errors")
    return None if found is None else found[0]


def _hover(row: pd.Series) -> str:
    """A point's hover text (chart text: seller names shown, never read as HTML)."""
    lines = [chart_text(row["product_name"][:80]), f"labelled {chart_text(row['category'])}",
             f"predicted {chart_text(row['predicted'])} ({row['split']} split)"]
    lines += [label for column, label, _, _ in MARKS if row[column]]
    return "<br>".join(lines)


def _figure(points: pd.DataFrame, marks: tuple, colours: dict[str, str]) -> go.Figure:
    """One colour per group (``points["group"]``: a category, or a sub-category of one parent), the
    ``marks`` drawn over them; every point carries its listing's id (what a click returns) and its hover
    text."""
    figure = go.Figure()
    for group, colour in colours.items():
        _add(figure, points[points["group"] == group], chart_text(group), dict(color=colour, size=7, opacity=0.8))
    for column, label, symbol, size in marks:
        _add(figure, points[points[column]], f"{label} ({int(points[column].sum())})",
             dict(symbol=symbol, size=size, color="#111827", line=dict(width=1.5, color="#111827")))
    figure.update_layout(height=640, margin=dict(l=10, r=10, t=10, b=10), xaxis=dict(visible=False),
                         yaxis=dict(visible=False, scaleanchor="x"),  # t-SNE's axes mean nothing; its distances do
                         # Under the map: above it, Plotly's toolbar covered a legend entry.
                         legend=dict(orientation="h", y=-0.02, yanchor="top", itemsizing="constant"))
    return figure


def _add(figure: go.Figure, rows: pd.DataFrame, legend: str, marker: dict) -> None:
    figure.add_trace(go.Scatter(x=rows["x"], y=rows["y"], mode="markers", name=legend, marker=marker,
                                customdata=rows[["uniq_id", "hover"]].to_numpy(),
                                hovertemplate="%{customdata[1]}<extra></extra>"))


def map_points(found: ListingMap, result: ScenarioResult, issues: pd.DataFrame | None,
               dataset: Dataset) -> pd.DataFrame:
    """The map's points, each marked, named and with its hover text."""
    points = marked_points(found, result, issues)
    points = points.merge(dataset.listings[["uniq_id", "product_name"]], on="uniq_id")
    points["hover"] = points.apply(_hover, axis=1)
    return points


def show_map_caption(found: ListingMap, name: str) -> None:
    """What a point's place means, and how well k-means on the same features finds the categories."""
    st.caption(f"Each point is a listing, placed by {MAP_METHOD} so that listings whose features "
               f"{plain_markdown(name)} finds alike lie close together; the axes have no meaning of their own. "
               "k-means with one cluster per category on the same features agrees with the labels at an adjusted "
               f"Rand index of {found.agreement:.2f} (1: the clusters are the categories; 0: chance; the study's "
               f"peers report {PEER_BEST_ARI:.2f} at best).")


OTHERS, OTHERS_COLOUR = "under the other parents", "#d1d5db"


def colour_ui(dataset: Dataset) -> str | None:
    """What colours the points: the first-level category, or (the parent returned) the sub-categories of one
    parent, the rest in grey (62 sub-categories in one palette could not be told apart)."""
    columns = st.columns([1, 2], vertical_alignment="bottom")
    by_level = columns[0].radio("Colour by", ["first level", "level 2, one parent"], horizontal=True)
    if by_level == "first level":
        return None
    return columns[1].selectbox("Parent", dataset.categories)


def coloured(points: pd.DataFrame, dataset: Dataset, parent: str | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The points with the group that colours each, and each group's colour: the first-level category, or
    the sub-category under ``parent`` (the tree's merge rule applied, as at level 2 everywhere)."""
    if parent is None:
        return points.assign(group=points["category"]), category_colours(dataset.categories)
    paths = at_level(dataset.listings, 2)[0].set_index("uniq_id")["category"]
    path = points["uniq_id"].map(paths)
    split = path.map(parent_of, na_action="ignore") == parent
    unsplit = path == parent  # too few listings below it to split: filed at the parent
    group = pd.Series(OTHERS, index=points.index)
    group[split] = path[split].map(lambda p: p.rpartition(SEPARATOR)[2])
    group[unsplit] = f"{parent} (not split)"
    return points.assign(group=group), {**category_colours(sorted(set(group[split | unsplit]))),
                                        OTHERS: OTHERS_COLOUR}


def map_ui(points: pd.DataFrame, marks: tuple, name: str, colours: dict[str, str]) -> str | None:
    """The map, and the id of the listing clicked on it (None until one is)."""
    event = st.plotly_chart(_figure(points, marks, colours), key=f"listing-map-{name}", on_select="rerun",
                            selection_mode="points", width="stretch")
    picked = [point["customdata"][0] for point in event.selection.points if point.get("customdata")]
    return picked[0] if picked else None


def listing_panel(uniq_id: str, points: pd.DataFrame, dataset: Dataset) -> Image.Image | None:
    """The listing clicked: its photo (returned, for its explanation), name, labels and marks."""
    listing = dataset.listing(uniq_id)
    row = points.set_index("uniq_id").loc[uniq_id]
    photo = None
    try:
        photo = listing_photo(listing)
    except VitrineError as exc:
        st.warning(message_markdown(exc))
    if photo is not None:
        st.image(display_size(photo, THUMBNAIL_SIDE))
    show_product_name(listing["product_name"])
    st.caption(f"labelled **{plain_markdown(row['category'])}**, predicted **{plain_markdown(row['predicted'])}** "
               f"({row['split']} split) · id {plain_markdown(uniq_id)}")
    for column, label, _, _ in MARKS:
        if row[column]:
            st.caption(label)
    return photo


def explanation_section(name: str, uniq_id: str, photo: Image.Image | None, dataset: Dataset) -> None:
    """Why the scenario predicts what it does for the listing clicked."""
    st.subheader(f"Why {plain_markdown(name)} predicts what it does for this listing")
    listing = dataset.listing(uniq_id)
    try:
        explanation = scenario_explanations(name, dataset).explain_listing(uniq_id)
    except VitrineError as exc:
        st.caption(f"No explanation: {message_markdown(exc)}")
        return
    show_explanation(explanation, photo, listing["description"], key=f"map-{uniq_id}",
                     title=listing["product_name"])


def main() -> None:
    """The page: the scenario, its map with the marks, then the listing clicked and its explanation."""
    st.title("Map of the listings")
    dataset = dataset_or_stop()
    results = results_or_stop(dataset)
    store = results_store()
    name = scenario_ui(results)
    scenario = scenario_named(name, workspace())
    found = _computed_map(scenario, dataset, store)
    issues = _label_issues(scenario, dataset, store)
    points = map_points(found, results[name], issues, dataset)
    # Likely label errors are marked once they are known (none found is then worth its "(0)" in the legend).
    marks = MARKS if issues is not None else MARKS[:1]
    show_map_caption(found, name)
    points, colours = coloured(points, dataset, colour_ui(dataset))
    chart, side = st.columns([3, 1])
    with chart:
        uniq_id = map_ui(points, marks, name, colours)
    with side:
        if uniq_id is None:
            st.info("Click a point to see its photo here and its explanation below (a chart's hover cannot show "
                    "photos).")
            return
        photo = listing_panel(uniq_id, points, dataset)
    explanation_section(name, uniq_id, photo, dataset)


main()
