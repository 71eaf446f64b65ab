"""What operators' answers on a batch's flagged listings say of the cut-off that flagged them."""
import pandas as pd

from core.review.cutoff_feedback import cutoff_feedback


def _answers(rows):
    return pd.DataFrame([{"id": i, "operator": op, "uniq_id": key, "label": label, "in_doubt": doubt}
                         for i, (op, key, label, doubt) in enumerate(rows)])


FLAGGED = pd.DataFrame({"uniq_id": ["a", "b", "c", "d"], "predicted": ["Watches", "Watches", "Toys", "Toys"],
                        "confidence": [0.95, 0.92, 0.85, 0.4]})


def test_flagged_listings_right_from_the_top_say_the_cutoff_could_be_lower():
    answers = _answers([("ann", "a", "Watches", False), ("bob", "a", "Watches", False),
                        ("ann", "b", "Watches", False), ("ann", "c", "Toys", False), ("ann", "d", "Baby Care", False)])
    feedback = cutoff_feedback(answers, FLAGGED, 0.99)
    bands = feedback.bands.set_index("band")
    assert bands.at["90%–100%", "answered"] == 2 and bands.at["90%–100%", "model_right"] == 1.0
    assert bands.at["0%–50%", "model_right"] == 0.0 and bands.at["0%–50%", "right_down_to_here"] == 0.75
    assert feedback.lowest_kept == "80%"  # a, b and c right; d, below, wrong
    assert ("down to 80% confidence would have been right 100% of the time on this batch (3 answered), at least "
            "the 99% promised") in feedback.sentence()  # what the table shows, beside the target


def test_a_wrong_top_band_says_the_cutoff_was_right_and_doubt_or_disagreement_is_left_out():
    answers = _answers([("ann", "a", "Toys", False), ("ann", "b", "Watches", True),  # b: only in doubt
                        ("ann", "c", "Toys", False), ("bob", "c", "Baby Care", False)])  # c: operators disagree
    feedback = cutoff_feedback(answers, FLAGGED, 0.99)
    assert int(feedback.bands["answered"].sum()) == 1 and feedback.lowest_kept is None
    assert feedback.sentence().endswith("the cut-off was right to send them.")
    assert cutoff_feedback(_answers([]).reindex(columns=["id", "operator", "uniq_id", "label", "in_doubt"]),
                           FLAGGED).sentence() == "No flagged listing has an answer given without doubt yet."
