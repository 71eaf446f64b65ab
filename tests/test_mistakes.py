import pandas as pd

from core.mistakes import RIGHT_PARENT, WRONG_PARENT, MistakeFilter

MISTAKES = pd.DataFrame({
    "uniq_id": ["a", "b", "c", "d"],
    "split": ["test", "train", "test", "test"],
    "true": ["Watches", "Watches", "Computers", "Baby Care"],
    "predicted": ["Computers", "Baby Care", "Watches", "Computers"],
    "confidence": [0.9, 0.8, 0.4, 0.6],
})


def test_default_shows_the_test_split_most_confident_first():
    assert MistakeFilter().apply(MISTAKES)["uniq_id"].tolist() == ["a", "d", "c"]


def test_categories_confidence_and_order_narrow_and_sort():
    chosen = MistakeFilter(test_split_only=False, predicted_categories=("Computers", "Baby Care"),
                           confidence=(0.5, 0.85), most_confident_first=False).apply(MISTAKES)
    assert chosen["uniq_id"].tolist() == ["d", "b"]
    assert MistakeFilter(true_categories=("Watches",)).apply(MISTAKES)["uniq_id"].tolist() == ["a"]


def test_the_confidence_bounds_hold_on_the_test_split_too():
    assert MistakeFilter(confidence=(0.5, 1.0)).apply(MISTAKES)["uniq_id"].tolist() == ["a", "d"]


def test_the_answer_is_a_plain_table_of_the_same_columns():
    chosen = MistakeFilter().apply(MISTAKES)
    assert chosen.columns.tolist() == MISTAKES.columns.tolist() and chosen.index.tolist() == [0, 1, 2]


def test_equally_confident_mistakes_keep_their_order_either_way():
    # Enough rows for numpy's default sort to be unstable: the page's order must not shuffle ties.
    many = pd.DataFrame({"uniq_id": [f"u{i:02d}" for i in range(64)], "split": "test", "true": "Watches",
                         "predicted": "Computers", "confidence": [0.9, 0.5, 0.7, 0.6] * 16})
    for most_confident_first in (True, False):
        chosen = MistakeFilter(most_confident_first=most_confident_first).apply(many)
        expected = sorted(range(64), key=lambda i: ((-1 if most_confident_first else 1) * many["confidence"][i], i))
        assert chosen["uniq_id"].tolist() == [f"u{i:02d}" for i in expected]


def test_a_levels_kind_of_mistake_narrows_the_other_filters_on_any_index():
    mistakes = pd.DataFrame({"true": ["A > B", "A > B", "D > E", "D > E"],
                             "predicted": ["A > C", "D > E", "A > B", "D > F"],
                             "confidence": [0.9, 0.8, 0.3, 0.6], "split": ["test", "test", "test", "train"]},
                            index=[5, 7, 9, 11])  # rows kept from a larger frame
    wrong_parent = MistakeFilter(kind=WRONG_PARENT, confidence=(0.5, 1.0)).apply(mistakes)
    assert wrong_parent["predicted"].tolist() == ["D > E"]  # the confidence and the split still apply
    assert MistakeFilter(kind=RIGHT_PARENT, test_split_only=False).apply(mistakes)["predicted"].tolist() == \
        ["A > C", "D > F"]
    assert MistakeFilter(kind=WRONG_PARENT).apply(mistakes.iloc[:0]).empty
