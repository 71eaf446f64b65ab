"""The "List a product" page in AppTest (no browser): a seller's draft gets the category and the advice of
the service's own action, on the small three-category data set (tfidf, trained on first use)."""
import html
import re

import pytest
from streamlit.testing.v1 import AppTest

from core.actions.listing_service import Listing, ListingService
from core.dataset import load_dataset
from core.listing_limits import MAX_DESCRIPTION_CHARS
from core.locations import REPO_ROOT
from core.workspace import Workspace
from tests.conftest import HOSTILE, shown

TIMEOUT = 120
WATCH_TITLE = "Analog wrist watch"
WATCH_TEXT = "analog wrist watch for men with a leather strap and a round dial"


@pytest.fixture
def app(small_data_dir) -> AppTest:
    """The page on the small data set, tfidf picked: the form empty."""
    page = AppTest.from_file(str(REPO_ROOT / "pages" / "list_product.py"), default_timeout=TIMEOUT).run()
    page.selectbox[0].select("tfidf").run()
    assert not page.exception
    return page


def _type(app: AppTest, title: str, description: str) -> AppTest:
    """Fill in the title and the description as a seller does, one field after the other (each rerun)."""
    app.text_input(key="list_title").input(title).run()
    return app.text_area(key="list_description").input(description).run()


def _sentences(app: AppTest) -> list[str]:
    """The advice's sentences as the page shows them (its bullet list), as text."""
    [advice] = [m.value for m in app.markdown if m.value.startswith("- ")]
    return [shown(line.removeprefix("- ")).removesuffix("\\") for line in advice.split("\n")]


def _badges(app: AppTest, colour: str, icon: str | None = None) -> list[str]:
    """The words shown as badges of ``colour`` with ``icon`` (or none), as text."""
    marked = f":material/{icon}: " if icon else ""
    found = [re.fullmatch(rf":{colour}-badge\[{marked}(?!:material/)(.*)\]", m.value, re.DOTALL) for m in app.markdown]
    return [shown(f[1]) for f in found if f]


def test_an_empty_draft_says_there_is_nothing_to_classify_yet(app):
    assert any("there is nothing to classify yet" in i.value for i in app.info)
    _type(app, "   ", "\n ")
    assert not app.exception and not app.subheader
    assert any("there is nothing to classify yet" in i.value for i in app.info)


def test_typing_a_watch_listing_shows_watches_and_the_advice_of_the_service_action(app, small_data_dir):
    _type(app, WATCH_TITLE, WATCH_TEXT)
    assert not app.exception
    assert app.subheader[0].value.startswith("Vitrine: Watches (")
    advice = ListingService(Workspace.from_environment(), load_dataset(small_data_dir), "tfidf").advise(
        Listing("draft", WATCH_TITLE, WATCH_TEXT))
    assert _sentences(app) == advice.sentences  # what /v1/advice answers, word for word
    assert advice.missing_words and _badges(app, "orange", "add") == advice.missing_words
    assert _badges(app, "red") == []  # nothing pulls elsewhere while Vitrine chooses


def test_choosing_another_category_shows_the_disagreement_and_the_words_pulling_elsewhere(app):
    _type(app, WATCH_TITLE, WATCH_TEXT)
    app.selectbox(key="list_chosen").select("Computers").run()
    assert not app.exception
    assert "You chose Computers, but Vitrine would file it under Watches." in _sentences(app)
    assert any(m.value == ":red-badge[:material/swap_horiz: not your category]" for m in app.markdown)
    pulling = _badges(app, "red")
    assert pulling and set(pulling) <= set(WATCH_TEXT.lower().split())  # the seller's own words
    assert "usb" in _badges(app, "orange", "add")  # what buyers of Computers search for
    app.selectbox(key="list_chosen").select("Watches").run()
    assert any(m.value == ":green-badge[:material/check: agrees with your category]" for m in app.markdown)


def test_a_photo_that_is_no_photo_gets_a_message_and_the_text_is_still_advised(app):
    app.file_uploader(key="list_photo").set_value(("holiday.jpg", b"PK\x03\x04 not a photo at all", "image/jpeg"))
    _type(app, WATCH_TITLE, WATCH_TEXT)
    assert not app.exception
    [error] = [shown(e.value) for e in app.error]
    assert error.startswith("holiday.jpg: ") and error.endswith("The listing is advised on its text alone.")
    assert app.subheader[0].value.startswith("Vitrine: Watches (")


def test_a_photo_larger_than_the_service_takes_is_refused_before_it_is_decoded(app, monkeypatch):
    def never(data):
        raise AssertionError("the photo was decoded")

    monkeypatch.setattr("core.images.open_image", never)
    app.file_uploader(key="list_photo").set_value(("big.jpg", b"\xff" * (20 * 2**20 + 1), "image/jpeg"))
    _type(app, WATCH_TITLE, WATCH_TEXT)
    assert not app.exception
    assert [shown(e.value) for e in app.error] == [
        "big.jpg: The photo is over 20 MB; the service takes no larger one. The listing is advised on its text alone."]


def test_hostile_text_is_shown_as_written_and_a_hundred_thousand_characters_get_a_message(app):
    hostile = " ".join(HOSTILE)
    _type(app, hostile, (f"{hostile} watch strap dial " * 5000)[:100_000])
    assert not app.exception and not app.subheader
    assert [e.value for e in app.error] == [  # the service's own limit
        "The description is 100,000 characters long; a listing's description may have at most "
        f"{MAX_DESCRIPTION_CHARS:,} (the service takes no more). Shorten it to see the category and the advice."]
    app.text_area(key="list_description").input(f"{hostile} watch strap dial").run()
    app.selectbox(key="list_chosen").select("Baby Care").run()
    assert not app.exception and app.subheader
    bodies = [e.proto.body for e in app.get("html")]
    assert f'<strong class="vitrine-product">{html.escape(hostile)}</strong>' in bodies  # the preview, escaped
    assert not any("<img" in body or "<a " in body for body in bodies)
    markdown = [m.value for m in [*app.markdown, *app.caption, *app.subheader, *app.warning, *app.info]]
    assert not [m for m in markdown if "](http" in m or "<img" in m or ":material/home:" in m]
