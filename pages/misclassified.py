"""Misclassified products: where a scenario went wrong, and what it looked at."""
from __future__ import annotations

import streamlit as st

from core.dataset import listing_photo
from core.errors import VitrineError
from core.escaping import message_markdown, plain_markdown
from core.mistakes import MistakeFilter
from pages._shared import (
    MAX_DESCRIPTION_SHOWN,
    StreamlitProgress,
    best_index,
    dataset_or_stop,
    display_size,
    results_or_stop,
    scenario_explanations,
    show_explanation,
    show_product_name,
)

PAGE_SIZE = 8

st.title("Misclassified products")
dataset = dataset_or_stop()
results = results_or_stop(dataset)

name = st.selectbox("Scenario", list(results), index=best_index(list(results), results))
result = results[name]
filters = st.columns(4)
split = filters[0].radio("Listings", ["test split", "all"], horizontal=True)
true_categories = filters[1].multiselect("True category", dataset.categories)
predicted_categories = filters[2].multiselect("Predicted category", dataset.categories)
confidence = filters[3].slider("Confidence in the wrong answer", 0.0, 1.0, (0.0, 1.0), 0.05)
order = st.radio("Order", ["most confident first", "least confident first"], horizontal=True)
frame = MistakeFilter(split == "test split", tuple(true_categories), tuple(predicted_categories), confidence,
                      order == "most confident first").apply(result.misclassified())

st.caption(f"{len(frame)} misclassified listing(s) match.")
if frame.empty:
    st.stop()
pages = (len(frame) - 1) // PAGE_SIZE + 1
page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1) if pages > 1 else 1
others = {other: r.predictions.set_index("uniq_id")["predicted"] for other, r in results.items() if other != name}



def show_unexplained(photo, description: str, note: str) -> None:
    """A card's photo and description while (or when) there is no explanation, laid out as one."""
    left, right = st.columns([2, 3])
    if photo is not None:
        left.image(display_size(photo))
    right.caption(note)
    right.text(description[:MAX_DESCRIPTION_SHOWN])


# Every card at once with its text; the explanations fill in as they are ready (cached ones at once).
progress_slot = st.empty()
cards = {}
for _, row in frame.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE].iterrows():
    listing = dataset.listing(row["uniq_id"])
    with st.container(border=True):
        show_product_name(listing["product_name"])
        st.caption(f"labelled **{plain_markdown(row['true'])}**, predicted **{plain_markdown(row['predicted'])}** "
                   f"({row['confidence']:.0%}) · {row['split']} split · id {plain_markdown(row['uniq_id'])}")
        elsewhere = [plain_markdown(f"{other}: {predictions.get(row['uniq_id'], 'n/a')}")
                     for other, predictions in others.items()]
        if elsewhere:
            st.caption("Other scenarios: " + " · ".join(elsewhere))
            st.page_link("pages/compare.py", label="Compare every scenario on this listing", icon=":material/compare:",
                         query_params={"listing": row["uniq_id"]})
        photo = None
        try:
            photo = listing_photo(listing)
        except VitrineError as exc:
            st.warning(message_markdown(exc))
        body = st.empty()
        with body.container():
            show_unexplained(photo, listing["description"], "Explaining…")
        cards[row["uniq_id"]] = (body, photo, listing["description"])

waiting = dict(cards)
try:
    with progress_slot.container():
        explanations = scenario_explanations(name, dataset)
        progress = StreamlitProgress(f"Explaining {name}'s mistakes on this page")
    for uniq_id, outcome in explanations.explain_listings(list(cards), progress):
        body, photo, description = waiting.pop(uniq_id)
        with body.container():
            if isinstance(outcome, VitrineError):
                show_unexplained(photo, description, f"No explanation: {message_markdown(outcome)}")
            else:
                show_explanation(outcome, photo, description, key=uniq_id)
except VitrineError as exc:
    for body, photo, description in waiting.values():
        with body.container():
            show_unexplained(photo, description, f"No explanation: {message_markdown(exc)}")
finally:
    progress_slot.empty()
