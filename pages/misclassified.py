"""Misclassified products: where a scenario went wrong, and what it looked at. ``main`` at the bottom
shows the page's flow."""
from __future__ import annotations

import pandas as pd
import streamlit as st
from PIL import Image
from streamlit.delta_generator import DeltaGenerator

from core.dataset import Dataset, listing_photo
from core.errors import VitrineError
from core.escaping import message_markdown, plain_markdown
from core.evaluation import ScenarioResult
from core.explain.display import shown_part
from core.hierarchy import SEPARATOR
from core.mistakes import ANY, RIGHT_PARENT, WRONG_PARENT, MistakeFilter
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

def mistakes_ui(dataset: Dataset, results: dict[str, ScenarioResult]) -> tuple[str, pd.DataFrame]:
    """The scenario picked and its mistakes that the filters keep, in the order asked."""
    first_level = {n: r for n, r in results.items() if not any(SEPARATOR in c for c in r.classes)}
    name = st.selectbox("Scenario", list(results), index=best_index(list(results), first_level or results),
                        help="Scenarios run at a level of the category tree below the first (+level2) answer paths")
    categories = results[name].classes  # a level's paths, or the first level's categories
    filters = st.columns(4)
    split = filters[0].radio("Listings", ["test split", "all"], horizontal=True)
    true_categories = filters[1].multiselect("True category", categories)
    predicted_categories = filters[2].multiselect("Predicted category", categories)
    confidence = filters[3].slider("Confidence in the wrong answer", 0.0, 1.0, (0.0, 1.0), 0.05)
    columns = st.columns(2)
    order = columns[0].radio("Order", ["most confident first", "least confident first"], horizontal=True)
    kind = ANY
    if any(SEPARATOR in c for c in categories):
        kind = columns[1].radio("Mistake", [ANY, RIGHT_PARENT, WRONG_PARENT], horizontal=True,
                                format_func={ANY: "any", RIGHT_PARENT: "wrong sub-category, right parent",
                                             WRONG_PARENT: "wrong parent"}.get)
    return name, MistakeFilter(split == "test split", tuple(true_categories), tuple(predicted_categories),
                               confidence, order == "most confident first", kind).apply(results[name].misclassified())


def page_ui(count: int) -> int:
    """The page of cards asked for (1 while they fit on one)."""
    pages = (count - 1) // PAGE_SIZE + 1
    return st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1) if pages > 1 else 1


def show_unexplained(photo, description: str, note: str) -> None:
    """A card's photo and description while (or when) there is no explanation, laid out as one."""
    left, right = st.columns([2, 3])
    if photo is not None:
        left.image(display_size(photo))
    right.caption(note)
    right.text(shown_part(description, MAX_DESCRIPTION_SHOWN))


def card(row: pd.Series, dataset: Dataset, others: dict[str, pd.Series]
         ) -> tuple[DeltaGenerator, Image.Image | None, str]:
    """One mistake's card, its explanation to come: the slot that will hold it, and the listing's photo and
    description it explains."""
    listing = dataset.listing(row["uniq_id"])
    with st.container(border=True):
        show_product_name(listing["product_name"])
        st.caption(f"labelled **{plain_markdown(row['true'])}**, predicted **{plain_markdown(row['predicted'])}** "
                   f"({row['confidence']:.0%}) · {row['split']} split · id {plain_markdown(row['uniq_id'])}")
        elsewhere = [plain_markdown(f"{other}: {predictions.get(row['uniq_id'], 'n/a')}")
                     for other, predictions in others.items()]
        if elsewhere:
            st.caption("Other scenarios: " + " · ".join(elsewhere))
            st.page_link("pages/compare.py", label="Compare every scenario on this listing",
                         icon=":material/compare:", query_params={"listing": row["uniq_id"]})
        photo = None
        try:
            photo = listing_photo(listing)
        except VitrineError as exc:
            st.warning(message_markdown(exc))
        body = st.empty()
        with body.container():
            show_unexplained(photo, listing["description"], "Explaining…")
    return body, photo, listing["description"]


def explain_cards(cards: dict[str, tuple[DeltaGenerator, Image.Image | None, str]], name: str, dataset: Dataset,
                  progress_slot: DeltaGenerator) -> None:
    """Each card's explanation in its slot as it is ready, or why there is none."""
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


def main() -> None:
    """The page: the scenario and the filters, then a page of cards whose explanations fill in."""
    st.title("Misclassified products")
    dataset = dataset_or_stop()
    results = results_or_stop(dataset)
    name, frame = mistakes_ui(dataset, results)
    st.caption(f"{len(frame)} misclassified listing(s) match.")
    if frame.empty:
        return
    page = page_ui(len(frame))
    others = {other: r.predictions.set_index("uniq_id")["predicted"] for other, r in results.items()
              if other != name and r.classes == results[name].classes}  # the same categories: the same level
    # Every card at once with its text; the explanations fill in as they are ready (cached ones at once).
    progress_slot = st.empty()
    cards = {}
    for _, row in frame.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE].iterrows():
        cards[row["uniq_id"]] = card(row, dataset, others)
    explain_cards(cards, name, dataset, progress_slot)


main()
