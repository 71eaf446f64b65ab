"""Explain a new listing: upload a photo and/or type a title and description, see the prediction
and what drove it."""
from __future__ import annotations

import streamlit as st

from core.dataset import listing_photo, sample_listings
from core.errors import VitrineError
from core.escaping import message_markdown, plain_markdown
from core.explain.base import ListingInput
from core.images import PHOTO_FORMATS, PHOTO_SUFFIXES, open_image
from core.scenarios.registry import all_scenarios
from core.wording import listing_fate
from pages._shared import (
    best_index,
    dataset_or_stop,
    scenario_explanations,
    show_explanation,
    stored_results,
    workspace,
)

st.title("Explain a new listing")
st.caption("Nothing you enter here is stored.")
dataset = dataset_or_stop()
scenarios = all_scenarios(workspace())
runnable = [name for name, s in scenarios.items() if s.unavailable_reason() is None]
if not runnable:
    st.error("No scenario can run on this machine; see the Results page for what is missing.")
    st.stop()
results = stored_results(dataset)
name = st.selectbox("Scenario", runnable, index=best_index(runnable, results),
                    format_func=lambda n: f"{n}: {scenarios[n].description}")
scenario = scenarios[name]

samples = sample_listings(dataset)


def _fill_sample() -> None:
    """Put the chosen sample's title and description in the form (its photo is used unless one is uploaded)."""
    chosen = st.session_state["sample"]
    if chosen in samples:
        row = samples[chosen]
        st.session_state["explain_title"], st.session_state["explain_description"] = row["product_name"], \
            row["description"]


sample = st.selectbox("Try a sample listing", ["none", *samples], key="sample", on_change=_fill_sample,
                      help="One listing of each category from the data set; its photo is used unless you upload one")
# One form: the model runs when Explain is pressed, not after every field.
with st.form("explain"):
    upload = st.file_uploader("Photo", type=[suffix.lstrip(".") for suffix in PHOTO_SUFFIXES],
                              help=f"{PHOTO_FORMATS}, up to {st.get_option('server.maxUploadSize')} MB")
    title = st.text_input("Title", max_chars=500, key="explain_title")
    description = st.text_area("Description", height=180, key="explain_description")
    if st.form_submit_button("Explain", type="primary"):
        st.session_state["explain_asked"] = True
if not st.session_state.get("explain_asked"):
    st.info("Upload a photo and/or type a title or description (or try a sample listing), then press Explain.")
    st.stop()

has_text = bool(description.strip() or title.strip())
photo = None
try:
    if upload is not None:
        photo = open_image(upload.getvalue())
    elif sample in samples:
        photo = listing_photo(samples[sample])
except VitrineError as exc:
    text_alone = " The listing is classified on its text alone." if has_text and scenario.reads_text else ""
    named = plain_markdown(upload.name if upload is not None else sample)
    st.error(f"{named}: {message_markdown(exc)}{text_alone}")
if photo is None and not has_text:
    st.info("Upload a photo and/or type a title or description to see how it would be classified, then press "
            "Explain.")
    st.stop()
if not scenario.reads_text and photo is None:
    st.warning(f"{name} reads only the photo: please upload one, or pick another scenario.")
    st.stop()
if not scenario.reads_photo and not has_text:
    st.warning(f"{name} reads only the text: please type a title or description, or pick another scenario.")
    st.stop()

columns = st.columns(2)
target_choice = columns[0].selectbox("Class to explain", ["the predicted class", *dataset.categories])
# A heatmap only exists where the scenario reads the photo.
opacity = columns[1].slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05) if scenario.reads_photo else 0.0
target = None if target_choice == "the predicted class" else target_choice

# With no description the title stands in for it, so it is what gets highlighted.
listing_name, listing_text = (title.strip(), description.strip()) if description.strip() else ("", title.strip())
try:
    with st.spinner("Loading the model and explaining…"):
        explanation = scenario_explanations(name, dataset).explain_listing(
            ListingInput(photo, listing_name, listing_text), target)
except VitrineError as exc:
    st.error(message_markdown(exc))
    st.stop()

predicted = explanation.predicted
st.subheader(f"Prediction: {plain_markdown(predicted)} ({explanation.probabilities[predicted]:.0%})")
if name in results:  # what the daily job would do with it: the scenario's own review cut-off
    st.caption(plain_markdown(listing_fate(name, results[name].review_threshold(),
                                           explanation.probabilities[predicted], predicted)))
if target is not None and target != predicted:
    st.caption(f"Explaining “{plain_markdown(target)}”, not the predicted class.")
show_explanation(explanation, photo, listing_text, key="new", opacity=opacity, title=listing_name)
