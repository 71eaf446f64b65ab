"""The product's own words: a status clause, a sentence, an operator's progress, the acceptance promise."""
import pandas as pd

from core.calibration import ReviewThreshold
from core.review.standing import OperatorQueue, Pace
from core.wording import (
    acceptance_summary,
    clause,
    cutoff_words,
    listing_fate,
    no_cutoff_reason,
    progress_text,
    review_columns,
    review_line,
    sentence,
)
from tests.conftest import needs_reference_data


def test_a_message_becomes_a_clause_and_a_clause_a_sentence():
    assert clause("The photo is damaged.") == "the photo is damaged"
    assert clause("JPEG data is damaged.") == "JPEG data is damaged"  # an acronym keeps its capitals
    assert sentence("3 rows repeat an id") == "3 rows repeat an id."


def test_progress_says_the_time_to_go_only_while_products_are_left():
    left, done = (OperatorQueue(total=10, answered=n, pending=pd.DataFrame({"uniq_id": ["x"] * k}))
                  for n, k in ((6, 4), (10, 0)))
    pace = Pace(per_minute=2.0, minutes_left=1.5)
    assert progress_text(left, pace) == ("6 of 10 products of this queue answered by you · 4 left · your pace 2.0 a "
                                         "minute, about 2 min to go")
    assert progress_text(done, pace) == ("10 of 10 products of this queue answered by you · 0 left · your pace 2.0 a "
                                         "minute")
    assert progress_text(left, None).endswith("· 4 left")


@needs_reference_data  # the sample's 112 held-out predictions are too few for a 98% cut-off
def test_the_review_cutoff_in_words_gives_the_promise_the_test_split_share_and_its_interval(tfidf_result):
    threshold = tfidf_result.review_threshold(0.98, 0.9, "global")
    line = review_line(tfidf_result, threshold)
    assert line.startswith(f"review below {threshold.cutoff:.1%} confidence, chosen to keep what is accepted at least "
                           "98% right, with 90% confidence (Learn-then-Test on 840 held-out predictions)")
    measured = tfidf_result.test_coverage(threshold)
    low, high = measured.interval()
    assert f"95% interval {low:.1%}–{high:.1%}: {measured.verdict(0.98)})" in line
    cells = review_columns(tfidf_result, threshold)
    assert cells["Promise"] == "at least 98% right, with 90% confidence"
    assert cells["Held on the test split"] in {"held", "below, within chance", "not held"}
    fields = acceptance_summary(tfidf_result, threshold)
    assert fields["cutoff"] == threshold.cutoff and fields["test_accepted_share"] == measured.share


def test_a_promise_no_cutoff_can_keep_sends_every_listing_to_review_in_words():
    threshold = ReviewThreshold(0.99, None, 112)
    assert listing_fate("tfidf", threshold, 0.999) == ("In a batch, tfidf sends every listing to an operator: no "
                                                       "cut-off could be shown to keep at least 99% right, with 90% "
                                                       "confidence.")


def test_per_category_cutoffs_are_said_per_category():
    threshold = ReviewThreshold(0.99, None, 900, per_category={"Watches": 0.8, "Baby Care": None})
    assert listing_fate("tfidf", threshold, 0.85, "Watches").startswith("At or above tfidf's review cut-off for "
                                                                        "Watches (80.0%")
    assert listing_fate("tfidf", threshold, 0.99, "Baby Care").startswith("In a batch, tfidf sends such a listing")
    assert cutoff_words(threshold) == ("review below each category's cut-off (Watches 80.0%; every other category: "
                                       "all reviewed)")


def test_why_a_promise_may_have_no_cutoff_says_what_it_takes():
    from core.calibration import Promise

    assert no_cutoff_reason(Promise(0.99, 0.9)).startswith(
        "Where a scenario reviews all, its held-out predictions cannot show the promise: showing at least 99% right, "
        "with 90% confidence takes at least 230 held-out predictions accepted without an error")
    assert "100%" in no_cutoff_reason(Promise(1.0, 0.9))
