"""Compare scenarios on one listing: every scenario that ran, side by side, with what drove each answer.
``main`` at the bottom shows the page's flow."""
from __future__ import annotations

import pandas as pd
import streamlit as st
from PIL import Image

from core.dataset import Dataset, listing_photo
from core.errors import VitrineError
from core.escaping import message_markdown, plain_markdown
from core.evaluation import ScenarioResult
from core.explain.display import highlighted_html, photo_with_heatmap, shown_part
from core.explain.explanation import Explanation
from core.scenarios.registry import scenario_named
from pages._shared import (
    DISPLAY_SIDE,
    StreamlitProgress,
    dataset_or_stop,
    display_size,
    probability_chart,
    results_or_stop,
    scenario_explanations,
    show_product_name,
    workspace,
)

PER_ROW = 2  # scenarios side by side: in a third of an 800 px window the chart lost its category names
HEADER_PHOTO_SIDE = 160  # the listing's photo beside its name: enough to recognise it
DESCRIPTION_SHOWN = 600  # characters of the description under each scenario: the words that count come first


def show_side(name: str, explanation: Explanation, photo: Image.Image | None, description: str, label: str) -> None:
    """One scenario's answer on the listing: prediction, heatmap (where it reads the photo), highlighted
    words (where it reads the text) and probabilities."""
    predicted = explanation.predicted
    verdict = "right" if predicted == label else f"wrong: labelled {plain_markdown(label)}"
    st.subheader(plain_markdown(name), anchor=False)
    st.caption(f"**{plain_markdown(predicted)}** ({explanation.probabilities[predicted]:.0%}) · {verdict}")
    if photo is not None and explanation.photo_grid is not None:
        st.image(photo_with_heatmap(photo, explanation.photo_grid, DISPLAY_SIDE))
    if explanation.words:
        text = shown_part(description, DESCRIPTION_SHOWN)
        st.html(highlighted_html(text, [w for w in explanation.words if w.end <= len(text)],
                                 explanation.signed_scores))
        if len(text) < len(description):
            st.caption(f"The first {len(text):,} of {len(description):,} characters.")
    st.plotly_chart(probability_chart(explanation.probabilities, predicted), width="stretch",
                    key=f"compare-probabilities-{name}")


def listing_ui(dataset: Dataset) -> str:
    """The listing compared: the one the address names (the misclassified cards link here with it), else
    the first; the choice goes back in the address."""
    listings = dataset.listings.set_index("uniq_id")
    ids = listings.index.tolist()
    asked = st.query_params.get("listing")
    if asked and asked not in listings.index:
        st.warning(f"No listing of this data set has the id {plain_markdown(asked)}; showing the first one instead.")
    uniq_id = st.selectbox("Listing", ids, index=ids.index(asked) if asked in ids else 0,
                           format_func=lambda u: f"{listings.at[u, 'product_name'][:90]} "
                                                 f"({listings.at[u, 'category']})")
    st.query_params["listing"] = uniq_id
    return uniq_id


def listing_header(listing: pd.Series, uniq_id: str) -> Image.Image | None:
    """The listing's photo, name and label, as its card shows them elsewhere (the text scenarios draw no
    heatmap, so the photo is here for every scenario); the photo returned for the heatmaps (None, with why,
    when unread)."""
    left, right = st.columns([1, 3])
    with right:
        show_product_name(listing["product_name"])
        st.caption(f"Data set label: **{plain_markdown(listing['category'])}** · id {plain_markdown(uniq_id)}")
    try:
        photo = listing_photo(listing)
    except VitrineError as exc:
        right.warning(message_markdown(exc))
        return None
    if photo is not None:
        left.image(display_size(photo, HEADER_PHOTO_SIDE))
    return photo


def explain_all(results: dict[str, ScenarioResult], uniq_id: str, dataset: Dataset) -> dict[str, Explanation]:
    """Each scenario that can run here explains the listing, under a progress bar; those that cannot or
    fail are named."""
    runnable = [name for name in results if scenario_named(name, workspace()).unavailable_reason() is None]
    if skipped := [name for name in results if name not in runnable]:
        st.caption(f"Not compared (they cannot run here; see the Results page): {plain_markdown(', '.join(skipped))}")
    explanations: dict[str, Explanation] = {}
    progress = StreamlitProgress("Explaining the listing")
    for done, name in enumerate(runnable):
        progress(done, len(runnable), name)
        try:
            explanations[name] = scenario_explanations(name, dataset).explain_listing(uniq_id)
        except VitrineError as exc:
            st.warning(f"{plain_markdown(name)}: {message_markdown(exc)}")
    progress.close()
    return explanations


def answers_table(explanations: dict[str, Explanation], label: str) -> pd.DataFrame:
    """Each scenario's prediction, its confidence, what it gives the data set's label, and whether it is right."""
    return pd.DataFrame([{"scenario": name, "prediction": e.predicted, "confidence": e.probabilities[e.predicted],
                          "label's probability": e.probabilities.get(label), "right": e.predicted == label}
                         for name, e in explanations.items()])


def show_answers(answers: pd.DataFrame) -> None:
    """The answers table, its percentages whole as in the captions and charts below it (85 %, not 85.93 %)."""
    shown = answers.assign(**{column: answers[column] * 100 for column in ("confidence", "label's probability")})
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
                     "confidence": st.column_config.NumberColumn(format="%.0f%%"),
                     "label's probability": st.column_config.NumberColumn(
                         format="%.0f%%", help="What the scenario gives the data set's label")})


def main() -> None:
    """The page: the listing, then every scenario's answer in a table and side by side."""
    st.title("Compare scenarios on one listing")
    dataset = dataset_or_stop()
    results = results_or_stop(dataset)
    uniq_id = listing_ui(dataset)
    listing = dataset.listing(uniq_id)
    photo = listing_header(listing, uniq_id)
    explanations = explain_all(results, uniq_id, dataset)
    if not explanations:
        return
    label = listing["category"]
    show_answers(answers_table(explanations, label))
    names = list(explanations)
    for start in range(0, len(names), PER_ROW):
        for column, name in zip(st.columns(PER_ROW), names[start:start + PER_ROW]):
            with column.container(border=True):  # a border round each scenario, none round an empty place
                show_side(name, explanations[name], photo, listing["description"], label)


main()
