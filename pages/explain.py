"""Explain a new listing: upload a photo and/or type a title and description, see the prediction
and what drove it. ``main`` at the bottom shows the page's flow."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st
from PIL import Image
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.dataset import listing_photo, sample_listings
from core.errors import VitrineError
from core.escaping import message_markdown, plain_markdown
from core.evaluation import ScenarioResult
from core.explain.base import ListingInput
from core.explain.explanation import Explanation
from core.images import PHOTO_FORMATS, PHOTO_SUFFIXES, open_image
from core.scenarios.base import Scenario
from core.scenarios.registry import all_scenarios
from core.wording import listing_fate
from pages._shared import (
    best_index,
    dataset_or_stop,
    runnable_scenarios,
    scenario_explanations,
    show_explanation,
    stored_results,
    workspace,
)


@dataclass(frozen=True)
class Entered:
    """What the form holds: an uploaded photo, a title and a description."""

    upload: UploadedFile | None
    title: str
    description: str

    @property
    def has_text(self) -> bool:
        """Whether a title or a description was typed."""
        return bool(self.description.strip() or self.title.strip())


def scenario_ui(scenarios: dict[str, Scenario], runnable: list[str], results: dict[str, ScenarioResult]) -> str:
    """The scenario that explains (the best one run by default)."""
    return st.selectbox("Scenario", runnable, index=best_index(runnable, results),
                        format_func=lambda n: f"{n}: {scenarios[n].description}")


def _fill_sample(samples: dict[str, pd.Series]) -> None:
    """Put the chosen sample's title and description in the form (its photo is used unless one is uploaded)."""
    chosen = st.session_state["sample"]
    if chosen in samples:
        row = samples[chosen]
        st.session_state["explain_title"], st.session_state["explain_description"] = row["product_name"], \
            row["description"]


def sample_ui(samples: dict[str, pd.Series]) -> str:
    """The sample listing tried ("none" for none); picking one fills the form."""
    return st.selectbox("Try a sample listing", ["none", *samples], key="sample", on_change=_fill_sample,
                        args=(samples,), help="One listing of each category from the data set; its photo is used "
                        "unless you upload one")


def listing_form() -> Entered:
    """The listing's form; pressing Explain is remembered for the session."""
    # One form: the model runs when Explain is pressed, not after every field.
    with st.form("explain"):
        upload = st.file_uploader("Photo", type=[suffix.lstrip(".") for suffix in PHOTO_SUFFIXES],
                                  help=f"{PHOTO_FORMATS}, up to {st.get_option('server.maxUploadSize')} MB")
        title = st.text_input("Title", max_chars=500, key="explain_title")
        description = st.text_area("Description", height=180, key="explain_description")
        if st.form_submit_button("Explain", type="primary"):
            st.session_state["explain_asked"] = True
    return Entered(upload, title, description)


def read_photo(entered: Entered, sample: str, samples: dict[str, pd.Series], scenario: Scenario) -> Image.Image | None:
    """The uploaded photo, else the sample's; None, with the reason shown when it cannot be read."""
    upload = entered.upload
    try:
        if upload is not None:
            return open_image(upload.getvalue())
        if sample in samples:
            return listing_photo(samples[sample])
    except VitrineError as exc:
        text_alone = " The listing is classified on its text alone." if entered.has_text and scenario.reads_text \
            else ""
        named = plain_markdown(upload.name if upload is not None else sample)
        st.error(f"{named}: {message_markdown(exc)}{text_alone}")
    return None


def readable(name: str, scenario: Scenario, photo: Image.Image | None, has_text: bool) -> bool:
    """Whether the scenario has something to read; if not, what is missing is said."""
    if photo is None and not has_text:
        st.info("Upload a photo and/or type a title or description to see how it would be classified, then press "
                "Explain.")
        return False
    if not scenario.reads_text and photo is None:
        st.warning(f"{name} reads only the photo: please upload one, or pick another scenario.")
        return False
    if not scenario.reads_photo and not has_text:
        st.warning(f"{name} reads only the text: please type a title or description, or pick another scenario.")
        return False
    return True


def target_ui(categories: list[str], scenario: Scenario) -> tuple[str | None, float]:
    """The class to explain (None: the predicted one) and the heatmap's opacity."""
    columns = st.columns(2)
    target_choice = columns[0].selectbox("Class to explain", ["the predicted class", *categories])
    # A heatmap only exists where the scenario reads the photo.
    opacity = columns[1].slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05) if scenario.reads_photo else 0.0
    return (None if target_choice == "the predicted class" else target_choice), opacity


def show_prediction(explanation: Explanation, name: str, results: dict[str, ScenarioResult],
                    target: str | None) -> None:
    """The prediction, what the daily job would do with it, and which class is explained."""
    predicted = explanation.predicted
    st.subheader(f"Prediction: {plain_markdown(predicted)} ({explanation.probabilities[predicted]:.0%})")
    if name in results:  # what the daily job would do with it: the scenario's own review cut-off
        threshold = results[name].review_threshold()
        share = results[name].test_coverage(threshold).share
        st.caption(plain_markdown(listing_fate(name, threshold, explanation.probabilities[predicted], predicted,
                                               share)))
    if target is not None and target != predicted:
        st.caption(f"Explaining “{plain_markdown(target)}”, not the predicted class.")


def main() -> None:
    """The page: the scenario and the listing, then its prediction and what drove it."""
    st.title("Explain a new listing")
    st.caption("Nothing you enter here is stored.")
    dataset = dataset_or_stop()
    scenarios = all_scenarios(workspace())
    runnable = runnable_scenarios(scenarios)
    if not runnable:
        return
    results = stored_results(dataset)
    name = scenario_ui(scenarios, runnable, results)
    scenario = scenarios[name]
    samples = sample_listings(dataset)
    sample = sample_ui(samples)
    entered = listing_form()
    if not st.session_state.get("explain_asked"):
        st.info("Upload a photo and/or type a title or description (or try a sample listing), then press Explain.")
        return
    photo = read_photo(entered, sample, samples, scenario)
    if not readable(name, scenario, photo, entered.has_text):
        return
    target, opacity = target_ui(dataset.categories, scenario)
    # With no description the title stands in for it, so it is what gets highlighted.
    title, description = entered.title, entered.description
    listing_name, listing_text = (title.strip(), description.strip()) if description.strip() else ("", title.strip())
    try:
        with st.spinner("Loading the model and explaining…"):
            explanation = scenario_explanations(name, dataset).explain_listing(
                ListingInput(photo, listing_name, listing_text), target)
    except VitrineError as exc:
        st.error(message_markdown(exc))
        return
    show_prediction(explanation, name, results, target)
    show_explanation(explanation, photo, listing_text, key="new", opacity=opacity, title=listing_name)


main()
