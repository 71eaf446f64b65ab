"""A review queue browsed as a list: the table of its products and their answers, the answer history of one,
assignments to operators (each seeing their own share first) and the queue's guidelines."""
from datetime import datetime, timezone
from types import SimpleNamespace

import pandas as pd
import pytest

from core.errors import ReviewStoreError
from core.labels.tree import TreeRevision, guidelines_seed
from core.review.answer_store import ReviewStore
from core.review.leads import (
    ALL,
    FIRST_COUNT,
    FIRST_HALF,
    MAX_GUIDELINES_CHARS,
    SECOND_HALF,
    LeadStore,
    is_lead,
    share_of,
)
from core.review.queue_table import QueueFilter, answer_history, queue_table, shown_queue
from core.review.standing import operator_queue

ITEMS = pd.DataFrame({
    "uniq_id": ["a", "b", "c", "d"],
    "product_name": ["delta lamp", "Alpha watch", "charlie mug", "bravo cot"],
    "true": ["Home", "Watches", "Kitchen", "Baby"],
    "predicted": ["Watches", "Home", "Home", "Home"],
    "confidence": [0.9, 0.6, 0.95, 0.7],
})


def _answers(*rows) -> pd.DataFrame:
    """Answers in force: (operator, uniq_id, label, in_doubt), in the order saved."""
    return pd.DataFrame([{"id": i, "operator": o, "uniq_id": u, "label": label, "in_doubt": doubt}
                         for i, (o, u, label, doubt) in enumerate(rows, 1)],
                        columns=["id", "operator", "uniq_id", "label", "in_doubt"])


def test_the_queue_table_lists_every_product_in_queue_order_with_who_answered_what():
    answers = _answers(("bo", "b", "Watches", False), ("ana", "b", "Home", True), ("ana", "x", "Home", False))
    table = queue_table(ITEMS, answers, {"c": "ana"})
    assert table["uniq_id"].tolist() == ["a", "b", "c", "d"]
    b = table.set_index("uniq_id").loc["b"]
    assert (b["answered"], b["answered_by"], b["latest"], b["in_doubt"], b["answers"]) == (
        True, "ana, bo", "Home", True, 2)
    a = table.set_index("uniq_id").loc["a"]
    assert (a["answered"], a["answered_by"], a["in_doubt"], a["answers"], a["assigned_to"]) == (False, "", False, 0, "")
    assert table.set_index("uniq_id").at["c", "assigned_to"] == "ana"


def test_the_list_filters_and_sorts_as_chosen():
    table = queue_table(ITEMS, _answers(("bo", "b", "Watches", False), ("ana", "d", "Baby", True)), {"c": "ana"})
    ids = lambda chosen: shown_queue(table, chosen)["uniq_id"].tolist()  # noqa: E731
    assert ids(QueueFilter()) == ["a", "b", "c", "d"]
    assert ids(QueueFilter(categories=["Home", "Baby"])) == ["a", "d"]
    assert ids(QueueFilter(model_answers=["Home"])) == ["b", "c", "d"]
    assert ids(QueueFilter(answered=True)) == ["b", "d"] and ids(QueueFilter(answered=False)) == ["a", "c"]
    assert ids(QueueFilter(in_doubt=True)) == ["d"]
    assert ids(QueueFilter(operator="ana")) == ["c", "d"]  # answered by her, or assigned to her
    assert ids(QueueFilter(sort="confidence, highest first")) == ["c", "a", "d", "b"]
    assert ids(QueueFilter(sort="confidence, lowest first")) == ["b", "d", "a", "c"]
    assert ids(QueueFilter(sort="product name")) == ["b", "d", "c", "a"]  # whatever the case
    assert ids(QueueFilter(model_answers=["Home"], answered=False, sort="product name")) == ["c"]


def test_the_answer_history_of_a_product_keeps_every_answer_newest_first_undone_ones_marked(tmp_path):
    store = ReviewStore(f"sqlite:///{tmp_path / 'reviews.sqlite'}")
    store.save("ana", "a", "Home", False)
    store.save("bo", "a", "Watches", True, comment="a clock?")
    store.save("bo", "b", "Home", False)
    store.undo_last("bo")  # b's answer
    store.save("ana", "a", "Watches", False)
    history = answer_history(store.history(), "a")
    assert history[["operator", "category", "in_doubt", "undone"]].values.tolist() == [
        ["ana", "Watches", False, False], ["bo", "Watches", True, False], ["ana", "Home", False, False]]
    assert history["comment"].tolist()[1] == "a clock?"
    [undone] = answer_history(store.history(), "b").itertuples()
    assert undone.undone and undone.category == "Home"
    assert answer_history(store.history(), "nothing").empty


def test_an_operator_sees_their_share_first_then_nobodys_then_the_others():
    assigned = {"c": "ana", "a": "bo", "d": "ana"}
    standing = operator_queue(ITEMS, _answers(), "ana", assigned=assigned)
    assert standing.pending["uniq_id"].tolist() == ["c", "d", "b", "a"]
    assert standing.share_left == 2
    answered = operator_queue(ITEMS, _answers(("ana", "c", "Home", False)), "ana", assigned=assigned)
    assert answered.pending["uniq_id"].tolist() == ["d", "b", "a"] and answered.share_left == 1
    assert operator_queue(ITEMS, _answers(), "bo", assigned=assigned).pending["uniq_id"].tolist() == ["a", "b", "c",
                                                                                                     "d"]
    assert operator_queue(ITEMS, _answers(), "cy").pending["uniq_id"].tolist() == ["a", "b", "c", "d"]


@pytest.fixture(params=["sqlite", "postgresql"])
def leads(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'reviews.sqlite'}" if request.param == "sqlite" else \
        request.getfixturevalue("postgresql_url")
    store = LeadStore(url)
    yield store
    store.engine.dispose()


def test_assignments_are_kept_per_queue_and_the_latest_one_counts(leads):
    assert leads.assign("queue 1", ["a", "b", "c"], "ana", by="lea") == 3
    leads.assign("queue 1", ["c"], " bo ", by="lea")
    leads.assign("queue 2", ["a"], "cy", by="lea")
    assert leads.assigned("queue 1") == {"a": "ana", "b": "ana", "c": "bo"}
    leads.assign("queue 1", ["a"], "", by="lea")  # taken off her
    again = LeadStore(str(leads.engine.url.render_as_string(hide_password=False)))
    assert again.assigned("queue 1") == {"b": "ana", "c": "bo"} and again.assigned("queue 2") == {"a": "cy"}
    assert again.assigned("queue 3") == {}


def test_guidelines_are_kept_per_queue_the_latest_in_force(leads):
    assert leads.guidelines("queue 1") is None
    leads.save_guidelines("queue 1", "Baby Care: infant wear.\n- tricky: cots", by="lea")
    leads.save_guidelines("queue 1", "Baby Care: infant wear and cots.", by="max")
    leads.save_guidelines("queue 2", "other", by="lea")
    stored = leads.guidelines("queue 1")
    assert (stored.text, stored.written_by) == ("Baby Care: infant wear and cots.", "max")
    assert abs(stored.created_at - datetime.now(timezone.utc)).total_seconds() < 60
    with pytest.raises(ReviewStoreError, match="at most 20,000 are kept"):
        leads.save_guidelines("queue 1", "x" * (MAX_GUIDELINES_CHARS + 1), by="lea")
    with pytest.raises(ReviewStoreError, match="operator name"):
        leads.save_guidelines("queue 1", "text", by=" ")
    assert leads.guidelines("queue 1").text == "Baby Care: infant wear and cots."


def test_leads_are_the_names_listed_or_anyone_when_none_is():
    assert is_lead("ana", None) and is_lead("ana", " , ")
    assert is_lead("Lea@Team.example", "max, lea@team.example") and not is_lead("ana", "max, lea@team.example")


def test_a_share_of_the_listed_products_is_all_a_half_or_the_first_few():
    ids = ["a", "b", "c", "d", "e"]
    assert share_of(ids, ALL) == ids
    assert (share_of(ids, FIRST_HALF), share_of(ids, SECOND_HALF)) == (["a", "b", "c"], ["d", "e"])
    assert share_of(ids, FIRST_COUNT, 2) == ["a", "b"] and share_of(ids, FIRST_COUNT, 9) == ids


def test_first_guidelines_say_what_each_category_covers_and_the_tricky_pairs_most_tricky_first():
    listings = pd.DataFrame({"category": ["Baby", "Baby", "Baby", "Home"], "category_tree": [
        '["Baby >> Infant Wear >> Shirts"]', '["Baby >> Infant Wear >> Socks"]', '["Baby >> Bedding >> Cots"]',
        '["Home"]']})
    result = SimpleNamespace(classes=["Baby", "Home", "Kitchen"], confusion=[[5, 3, 0], [1, 6, 4], [0, 0, 2]])
    revision = TreeRevision(pd.DataFrame({"category_a": ["Home", "Kitchen"], "category_b": ["Kitchen", "Watches"],
                                          "listings": [2, 1]}), pd.DataFrame())
    text = guidelines_seed(listings, ["Baby", "Home"], result, revision)
    assert "- Baby: Infant Wear, Bedding" in text and "- Home: no sub-category given" in text
    lines = text.splitlines()
    pairs = lines[lines.index("") + 2:]
    assert pairs == ["- Home / Kitchen: 4 model confusion(s), 2 product(s) in doubt",
                     "- Kitchen / Watches: 0 model confusion(s), 1 product(s) in doubt",
                     "- Baby / Home: 4 model confusion(s), 0 product(s) in doubt"]
    assert guidelines_seed(listings, ["Baby"], None).endswith("- none found yet")
