import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_score

from core.clip_tokenizer import CONTEXT_LENGTH, clip_tokenizer, token_counts, window_token_ids
from core.scenarios.base import tuned_logistic_regression
from core.split import assign_split, cv_folds
from core.text import model_a_text, model_b_text
from tests.conftest import HAS_REFERENCE_DATA


def test_model_a_keeps_the_description_and_model_b_keeps_only_words():
    text = "Key Features: 100% cotton, anti-wrinkle! Rs. 899"
    assert model_a_text(text) == text
    assert model_b_text(text) == "Key Features 100 cotton anti wrinkle Rs 899"
    assert model_b_text("") == model_a_text("") == ""


def test_model_b_fits_more_words_into_clips_window():
    text = "Cotton, soft; (washable) - towel! " * 10
    model_b, model_a = token_counts([model_b_text(text), model_a_text(text)])
    assert model_b < model_a


def test_offline_tokenizer_gives_clips_real_token_ids():
    assert clip_tokenizer()("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_texts_read_from_their_first_words_get_the_token_ids_of_the_whole_text(reference_dataset):
    words = " ".join(f"word{i}" for i in range(400))
    texts = list(reference_dataset.listings["description"].fillna("")) + [
        "", "steel wrist watch", words, "\n\t ".join(words.split()),  # long; other gaps between words
        " - " * 300 + "watch",  # words that are only marks, each still a token
        "\u3000 " * 200 + "cotton towel " * 40,  # blank words: the first ones give too few tokens
        "x" * 5000 + " " + words,  # one long word first
    ]
    tokenizer = clip_tokenizer()
    whole = tokenizer(texts, truncation=True, max_length=CONTEXT_LENGTH)["input_ids"]
    assert window_token_ids(tokenizer, texts) == whole
    assert max(len(ids) for ids in whole) == CONTEXT_LENGTH


def test_split_is_stratified_80_20_and_reproducible(reference_dataset):
    listings = reference_dataset.listings
    split = assign_split(listings)
    test = split == "test"
    assert (test.sum(), (~test).sum()) == ((210, 840) if HAS_REFERENCE_DATA else (28, 112))  # the shipped sample
    per_category = set(listings["category"].value_counts())  # 150 each, or 20 in the sample
    assert set(listings.loc[test, "category"].value_counts()) == {n // 5 for n in per_category}
    assert split.equals(assign_split(listings))
    assert not split.equals(assign_split(listings, seed=7))


def test_cv_folds_are_stratified():
    labels = np.array(["a"] * 50 + ["b"] * 25)
    for _, held_out in cv_folds(labels).split(np.zeros(len(labels)), labels):
        counts = pd.Series(labels[held_out]).value_counts()
        assert counts["a"] == 10 and counts["b"] == 5


def test_tuned_logistic_regression_learns_and_cross_validates_categories_of_five_listings():
    # 5 listings per category is the least the loader keeps: 4 are left to train, 3 in each outer fold.
    labels = np.repeat(["Baby Care", "Computers", "Watches"], 4)
    features = np.random.default_rng(0).normal(size=(len(labels), 8)) + np.repeat(np.eye(3, 8) * 3, 4, axis=0)
    model = tuned_logistic_regression(np.logspace(-1, 3, 5)).fit(features, labels)
    assert (model.predict(features) == labels).mean() > 0.9
    scores = cross_val_score(tuned_logistic_regression(np.logspace(-1, 3, 5)), features, labels,
                             cv=cv_folds(labels), scoring="accuracy")
    assert len(scores) == 4 and scores.mean() > 0.5
