"""The product's own words: a status clause, a sentence, an operator's progress."""
import pandas as pd

from core.review.standing import OperatorQueue, Pace
from core.wording import clause, progress_text, sentence


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
