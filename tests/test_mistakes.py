import pandas as pd

from core.mistakes import MistakeFilter

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
