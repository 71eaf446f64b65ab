"""Compare scenarios on one listing: every scenario that ran, side by side, with what drove each answer."""
from __future__ import annotations

import pandas as pd
import streamlit as st
from PIL import Image

from core.dataset import listing_photo
from core.errors import VitrineError
from core.escaping import message_markdown, plain_markdown
from core.explain.display import highlighted_html, photo_with_heatmap
from core.explain.explanation import Explanation
from core.scenarios.registry import scenario_named
from pages._shared import (
    DISPLAY_SIDE,
    StreamlitProgress,
    dataset_or_stop,
    probability_chart,
    results_or_stop,
    scenario_explanations,
    show_product_name,
    workspace,
)

PER_ROW = 2  # scenarios side by side: in a third of an 800 px window the chart lost its category names
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
        text = description[:DESCRIPTION_SHOWN]
        st.html(highlighted_html(text, [w for w in explanation.words if w.end <= len(text)],
                                 explanation.signed_scores))
        if len(description) > DESCRIPTION_SHOWN:
            st.caption(f"The first {DESCRIPTION_SHOWN} of {len(description):,} characters.")
    st.plotly_chart(probability_chart(explanation.probabilities, predicted), width="stretch",
                    key=f"compare-probabilities-{name}")


st.title("Compare scenarios on one listing")
dataset = dataset_or_stop()
results = results_or_stop(dataset)
listings = dataset.listings.set_index("uniq_id")
ids = listings.index.tolist()
# The listing can come in the address (the misclassified cards link here with it).
asked = st.query_params.get("listing")
if asked and asked not in listings.index:
    st.warning(f"No listing of this data set has the id {plain_markdown(asked)}; showing the first one instead.")
uniq_id = st.selectbox("Listing", ids, index=ids.index(asked) if asked in ids else 0,
                       format_func=lambda u: f"{listings.at[u, 'product_name'][:90]} ({listings.at[u, 'category']})")
st.query_params["listing"] = uniq_id
listing = dataset.listing(uniq_id)
show_product_name(listing["product_name"])
st.caption(f"Data set label: **{plain_markdown(listing['category'])}** · id {plain_markdown(uniq_id)}")
photo = None
try:
    photo = listing_photo(listing)
except VitrineError as exc:
    st.warning(message_markdown(exc))

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
if not explanations:
    st.stop()

label = listing["category"]
answers = pd.DataFrame([{"scenario": name, "prediction": e.predicted, "confidence": e.probabilities[e.predicted],
                         "label's probability": e.probabilities.get(label), "right": e.predicted == label}
                        for name, e in explanations.items()])
st.dataframe(answers, hide_index=True, width="stretch", column_config={
                 "confidence": st.column_config.NumberColumn(format="percent"),
                 "label's probability": st.column_config.NumberColumn(
                     format="percent", help="What the scenario gives the data set's label")})
names = list(explanations)
for start in range(0, len(names), PER_ROW):
    for column, name in zip(st.columns(PER_ROW), names[start:start + PER_ROW]):
        with column.container(border=True):  # a border round each scenario, none round an empty place
            show_side(name, explanations[name], photo, listing["description"], label)
