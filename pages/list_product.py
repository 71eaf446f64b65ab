"""List a product: the marketplace's listing form with Vitrine beside it. As the seller fills it in, the
category Vitrine would give, the advice and the missing keywords update, through the same actions as the
service's ``/v1/classify`` and ``/v1/advice`` (``core/actions/listing_service.py``). ``main`` at the bottom
shows the page's flow."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st
from PIL import Image
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.actions.listing_service import Advice, Classified, Listing, ListingService
from core.dataset import Dataset
from core.errors import VitrineError
from core.escaping import html_text, message_markdown, plain_markdown
from core.evaluation import ScenarioResult
from core.images import PHOTO_FORMATS, PHOTO_SUFFIXES, open_image
from core.listing_limits import MAX_DESCRIPTION_CHARS, MAX_PHOTO_BYTES, MAX_TITLE_CHARS  # the service's
from core.scenarios.base import Scenario
from core.scenarios.registry import all_scenarios, scenario_named
from core.workspace import Workspace
from pages._shared import (
    best_index,
    dataset_or_stop,
    display_size,
    runnable_scenarios,
    show_product_name,
    stored_results,
    workspace,
)

LET_VITRINE_CHOOSE = "let Vitrine choose"
PREVIEW_CHARS = 300  # of the description, in the buyer's preview
PREVIEW_SIDE = 240  # pixels of the photo's preview


@dataclass(frozen=True)
class Draft:
    """The listing as the seller has filled it in so far."""

    title: str
    description: str
    upload: UploadedFile | None
    chosen: str | None  # the seller's category; None lets Vitrine choose

    @property
    def has_text(self) -> bool:
        """Whether a title or a description was typed."""
        return bool(self.title.strip() or self.description.strip())


@st.cache_resource(show_spinner=False, max_entries=4)
def _listing_service(name: str, data_fingerprint: str, weights: str, _dataset: Dataset,
                     place: Workspace) -> ListingService:
    # Keyed by the scenario, the dataset's fingerprint, the weights and the workspace; the dataset is not hashed.
    return ListingService(place, _dataset, name)


def listing_service(name: str, dataset: Dataset) -> ListingService | None:
    """The scenario's stored classifier with its review cut-off, loaded once for the app process (trained
    first when it has not run); None, with the reason shown, when it cannot be loaded."""
    place = workspace()
    try:
        with st.spinner(f"Loading {name}'s classifier (trained first if it has not run yet)…"):
            return _listing_service(name, dataset.fingerprint, scenario_named(name, place).weights_fingerprint(),
                                    dataset, place)
    except VitrineError as exc:
        st.error(f"{name} cannot advise here: {message_markdown(exc)}")
        return None


def scenario_ui(scenarios: dict[str, Scenario], runnable: list[str], results: dict[str, ScenarioResult]) -> str:
    """The scenario that advises (the best one run by default)."""
    return st.selectbox("Scenario", runnable, index=best_index(runnable, results),
                        format_func=lambda n: f"{n}: {scenarios[n].description}")


def draft_ui(categories: list[str], scenario: Scenario) -> Draft:
    """The listing form, without a form: each field left (or Ctrl+Enter) reruns the advice, as the
    example client's debounce does."""
    # No max_chars: Streamlit would cut a longer paste silently, where the service refuses it and says why.
    title = st.text_input("Title", key="list_title")
    description = st.text_area("Description", height=180, key="list_description")
    upload = st.file_uploader("Photo (optional)", type=[suffix.lstrip(".") for suffix in PHOTO_SUFFIXES],
                              key="list_photo", max_upload_size=MAX_PHOTO_BYTES // 2**20,
                              help=PHOTO_FORMATS + ("" if scenario.reads_photo else
                                                    f"; {scenario.name} reads the text only"))
    chosen = st.selectbox("Your category", [LET_VITRINE_CHOOSE, *categories], key="list_chosen",
                          help="The category you would file it under; Vitrine says whether it agrees")
    return Draft(title, description, upload, None if chosen == LET_VITRINE_CHOOSE else chosen)


def too_long(draft: Draft) -> bool:
    """Whether a field is longer than the service takes; if so, which and by how much is said."""
    for field, text, limit in (("title", draft.title, MAX_TITLE_CHARS),
                               ("description", draft.description, MAX_DESCRIPTION_CHARS)):
        if len(text) > limit:
            st.error(f"The {field} is {len(text):,} characters long; a listing's {field} may have at most {limit:,} "
                     f"(the service takes no more). Shorten it to see the category and the advice.")
            return True
    return False


def read_photo(draft: Draft, scenario: Scenario) -> tuple[bytes | None, Image.Image | None]:
    """The uploaded photo's bytes and the photo itself; (None, None) without one, or, with the reason
    shown, when it cannot be read (the listing is then advised on its text, as the service does)."""
    if draft.upload is None:
        return None, None
    data = draft.upload.getvalue()
    try:
        if len(data) > MAX_PHOTO_BYTES:  # the uploader refuses one in the browser; this, one sent past it
            raise VitrineError(f"The photo is over {MAX_PHOTO_BYTES // 2**20} MB; the service takes no larger one.")
        return data, open_image(data)
    except VitrineError as exc:
        text_alone = " The listing is advised on its text alone." if draft.has_text and scenario.reads_text else ""
        st.error(f"{plain_markdown(draft.upload.name)}: {message_markdown(exc)}{text_alone}")
        return None, None


def show_preview(draft: Draft, photo: Image.Image | None) -> None:
    """The listing as a buyer would see it: photo, title and the description's start, shown as written."""
    if photo is not None:
        st.image(display_size(photo, PREVIEW_SIDE))
    if draft.title.strip():
        show_product_name(draft.title)
    if draft.description.strip():
        start = draft.description[:PREVIEW_CHARS]
        more = "…" if len(draft.description) > PREVIEW_CHARS else ""
        st.html(f'<div class="vitrine-preview">{html_text(start)}{more}</div>')


def readable(draft: Draft, photo: bytes | None, scenario: Scenario) -> bool:
    """Whether the scenario has something to read in the draft; if not, what is missing is said."""
    if (scenario.reads_text and draft.has_text) or (scenario.reads_photo and photo is not None):
        return True
    if not scenario.reads_text:
        st.info(f"{scenario.name} reads only the photo: add one to see the category and the advice, or pick "
                "another scenario.")
    else:
        st.info("Type a title or a description" + (" (or add a photo)" if scenario.reads_photo else "") +
                ": there is nothing to classify yet.")
    return False


def advised(service: ListingService, listing: Listing, chosen: str | None) -> tuple[Classified, Advice] | None:
    """What the service's ``/v1/classify`` and ``/v1/advice`` answer for the draft; None, with the reason
    shown, when it cannot be advised."""
    try:
        with st.spinner("Reading your listing…"):
            [classified] = service.classify([listing])
            return classified, service.advise(listing, chosen)
    except VitrineError as exc:
        st.error(message_markdown(exc))
    except Exception as exc:  # the page's edge: a message for the seller, the details for whoever runs the app
        logging.getLogger(__name__).exception("advising on a draft failed")
        st.error(f"The listing could not be read: {plain_markdown(exc)}. The terminal that runs the app has the "
                 "details.")
    return None


def badges(words: list[str], colour: str, icon: str | None = None) -> None:
    """Words as a row of badges, each shown as written."""
    with st.container(horizontal=True):
        for word in words:
            st.badge(plain_markdown(word), color=colour, icon=icon)


def show_category(classified: Classified, advice: Advice, promise: str) -> None:
    """The category Vitrine would give and how sure, the runners-up, and as badges whether it agrees with
    the seller's and whether the listing would go to an operator first."""
    st.subheader(f"Vitrine: {plain_markdown(advice.predicted)} ({advice.confidence:.0%} sure)")
    others = [f"{plain_markdown(t['category'])} {t['probability']:.0%}" for t in classified.top[1:]]
    if others:
        st.caption(f"Then: {', '.join(others)}.")
    with st.container(horizontal=True):
        if advice.agrees is not None:
            st.badge("agrees with your category" if advice.agrees else "not your category",
                     color="green" if advice.agrees else "red", icon=":material/check:" if advice.agrees else
                     ":material/swap_horiz:")
        if classified.needs_review:
            st.badge("an operator checks it first", color="orange", icon=":material/rate_review:")
        else:
            st.badge("goes online without a check", color="green", icon=":material/public:")
    st.caption(f"Listings go online unchecked when Vitrine can promise {plain_markdown(promise)}.")


def show_advice(advice: Advice) -> None:
    """The advice's sentences, as the example client shows them, then the missing keywords and the words
    pulling elsewhere as badges."""
    st.markdown("\n".join(f"- {plain_markdown(sentence)}" for sentence in advice.sentences))
    if advice.missing_words:
        st.markdown(f"**Words buyers of {plain_markdown(advice.chosen or advice.predicted)} search for that your "
                    "text lacks**")
        badges(advice.missing_words, "orange", ":material/add:")
    if advice.pulling_words:
        st.markdown(f"**Words pulling it toward {plain_markdown(advice.predicted)}**")
        badges(advice.pulling_words, "red")
    if advice.photo_says and advice.text_says:  # only for a scenario that reads both, given a photo
        st.caption(f"The photo alone says {plain_markdown(advice.photo_says)}; the text alone, "
                   f"{plain_markdown(advice.text_says)}.")


@st.fragment
def listing_and_advice(service: ListingService) -> None:
    """The form and, beside it, what Vitrine makes of it; an edit reruns this part alone."""
    scenario = service.scenario
    form, answer = st.columns(2, gap="large")
    with form:
        draft = draft_ui(service.classes, scenario)
    with answer:
        if too_long(draft):
            return
        photo_bytes, photo = read_photo(draft, scenario)
        show_preview(draft, photo)
        if not readable(draft, photo_bytes, scenario):
            return
        # A photo the scenario does not read is left out, as the service leaves it unread.
        listing = Listing("draft", draft.title, draft.description,
                          photo=photo_bytes if scenario.reads_photo else None)
        found = advised(service, listing, draft.chosen)
        if found is None:
            return
        classified, advice = found
        if advice.predicted is None:
            st.info(message_markdown(" ".join(advice.sentences) or classified.status))
            return
        show_category(classified, advice, service.promise)
        show_advice(advice)


def main() -> None:
    """The page: the scenario, then the listing form with Vitrine's category and advice beside it."""
    st.title("List a product")
    st.caption("Fill in the listing as a seller does on the marketplace: the category Vitrine would give and its "
               "advice update each time you leave a field (or press Enter in the title, Ctrl+Enter in the "
               "description), through the same action the service's /v1/advice answers with. Nothing you enter "
               "here is stored.")
    dataset = dataset_or_stop()
    scenarios = all_scenarios(workspace())
    runnable = runnable_scenarios(scenarios)
    if not runnable:
        return
    name = scenario_ui(scenarios, runnable, stored_results(dataset))
    service = listing_service(name, dataset)
    if service is not None:
        listing_and_advice(service)


main()
