"""The seller's advice when photo and text disagree (the rest of the listing actions: tests/test_service.py)."""
from types import SimpleNamespace

import pandas as pd
import pytest

from core.actions.listing_service import Classified, Listing, ListingService

PHOTO = b"photo bytes"


def _service(reads_photo: bool, photo_says: str, text_says: str) -> ListingService:
    """The action over a stand-in classifier: the photo alone reads as ``photo_says``, anything with text as
    ``text_says``."""
    service = ListingService.__new__(ListingService)  # the advice's logic, without training a model
    service.scenario = SimpleNamespace(name="clip_a", reads_photo=reads_photo, reads_text=True, explains_words=False)
    service.classes = sorted({photo_says, text_says, "Baby Care"})
    service._guide = pd.DataFrame(columns=["category", "word", "score"])

    def classify(listings):
        return [Classified(listing.id, text_says if listing.name or listing.description else photo_says, 0.9,
                           [], False, "ok") for listing in listings]
    service.classify = classify
    return service


@pytest.mark.parametrize("photo_says, text_says, warned", [("Watches", "Baby Care", True),
                                                            ("Baby Care", "Baby Care", False)])
def test_the_seller_is_told_when_the_photo_and_the_text_point_to_different_categories(photo_says, text_says, warned):
    advice = _service(True, photo_says, text_says).advise(Listing("d1", "Romper", "soft cotton romper", photo=PHOTO))
    assert (advice.photo_says, advice.text_says) == (photo_says, text_says)
    sentence = (f"The photo looks like {photo_says}, the text reads as {text_says}: check that they show the same "
                "product.")
    assert (sentence in advice.sentences) is warned


def test_no_photo_verdict_without_a_photo_or_for_a_scenario_that_reads_none():
    without_photo = _service(True, "Watches", "Baby Care").advise(Listing("d1", "Romper", "soft cotton romper"))
    text_only = _service(False, "Watches", "Baby Care").advise(Listing("d1", "Romper", "soft cotton romper",
                                                                       photo=PHOTO))
    for advice in (without_photo, text_only):
        assert advice.photo_says is None and advice.text_says is None
        assert not any(s.startswith("The photo looks like") for s in advice.sentences)
