"""Global importance: the words that drive each category, the basis of the seller guide."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from core.explain.tfidf_words import linear_scorer
from core.hierarchy import parent_of
from core.text import listing_text

KEYWORDS_TABLE = "keywords"  # the name its table is stored under, beside the scenario's result
MIN_LISTINGS = 5  # a word must matter in this many listings of a category to count
# Words in more than this share of all listings are shop boilerplate ("flipkart com", "buy", "only").
MAX_LISTING_SHARE = 0.3


# The marketplace's own words: its sales template ("Buy ... at Rs. ... online at great discounts. Only
# genuine products. Free shipping. Cash on delivery! 30 day replacement guarantee.") and the headings of
# its specification tables ("General details", "Key features", "Ideal for", "Sales package", "Model
# name"). Some shops use them in one category only, where they even predict it, but they sell rather
# than describe: a seller gains nothing by writing them.
SHOP_WORDS = frozenset("""
buy online price prices lowest discount discounts great best offer offers deal deals shipping free delivery
cash genuine products product flipkart com rs replacement guarantee day days shop shopping sale only
details features key specifications specification general traits ideal sales package box model name number
type warranty summary
""".split())


def shop_boilerplate(listings_per_word: pd.Series, listings: int) -> set[str]:
    """The words found in more than ``MAX_LISTING_SHARE`` of the listings, given in how many
    listings each word occurs."""
    share = listings_per_word / max(listings, 1)
    return set(share[share > MAX_LISTING_SHARE].index)


def is_advice(term: str, boilerplate: set[str]) -> bool:
    """Whether a word or phrase is worth advising to a seller: none of its words is an English stop
    word, a number, one of the marketplace's own words (``SHOP_WORDS``) or boilerplate of this data
    (``boilerplate``), and no word is repeated ("usb usb")."""
    words = term.split()
    return len(set(words)) == len(words) and not any(
        word in ENGLISH_STOP_WORDS or word in SHOP_WORDS or word in boilerplate or word.isdigit() for word in words)


def aggregate_keywords(rows: pd.DataFrame, listings_per_category: pd.Series, top: int = 10,
                       min_listings: int = MIN_LISTINGS) -> pd.DataFrame:
    """From one row per (listing, category, word, score): each word's mean score per listing of the
    category, top words first. Left out: words that are no advice (``is_advice``; boilerplate: words in
    more than 30 % of all listings) and words found in fewer than ``min_listings`` listings of the category."""
    boilerplate = shop_boilerplate(rows.groupby("word")["uniq_id"].nunique(), rows["uniq_id"].nunique())
    rows = rows[[is_advice(word, boilerplate) for word in rows["word"]]]
    grouped = rows.groupby(["category", "word"]).agg(total=("score", "sum"), listings=("uniq_id", "nunique"))
    grouped = grouped[grouped["listings"] >= min_listings].reset_index()
    if grouped.empty:  # every word left out: nothing to advise
        return pd.DataFrame(columns=["category", "word", "score", "listings"])
    grouped["score"] = grouped["total"] / grouped["category"].map(listings_per_category)
    grouped = grouped.sort_values(["category", "score"], ascending=[True, False])
    return grouped.groupby("category").head(top)[["category", "word", "score", "listings"]].reset_index(drop=True)


def tfidf_coefficient_keywords(model, listings: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The tfidf scenario's strongest positive terms per category, from its coefficients (a sub-category's
    against its siblings', ``contrasted_coefficients``); terms that are no advice (``is_advice``, boilerplate
    judged on ``listings``) are passed over."""
    vectorizer = model.named_steps["tfidf"]
    analyse = vectorizer.build_analyzer()
    texts = [listing_text(n, d) for n, d in zip(listings["product_name"], listings["description"])]
    word_listings = pd.Series([word for text in texts for word in {t for t in analyse(text) if " " not in t}])
    boilerplate = shop_boilerplate(word_listings.value_counts(), len(texts))
    vocabulary = vectorizer.get_feature_names_out()
    advice = np.array([is_advice(term, boilerplate) for term in vocabulary])
    rows = []
    for category, weights in contrasted_coefficients(list(model.classes_), linear_scorer(model).coef_).items():
        ranked = [i for i in np.argsort(-weights) if advice[i]][:top]
        rows += [{"category": category, "word": vocabulary[i], "score": float(weights[i])} for i in ranked]
    return pd.DataFrame(rows)


def contrasted_coefficients(classes: list[str], coefficients: np.ndarray) -> dict[str, np.ndarray]:
    """Each category's coefficients; below the first level, against its siblings' mean: the words that
    separate Bed Linen from Curtains, not those that make both Home Furnishing (a sub-category with no
    sibling among ``classes`` keeps its own)."""
    names = [str(c) for c in classes]
    contrasted = {}
    for name, weights in zip(names, coefficients):
        siblings = [k for k, other in enumerate(names)
                    if other != name and parent_of(name) is not None and parent_of(other) == parent_of(name)]
        contrasted[name] = weights - coefficients[siblings].mean(axis=0) if siblings else weights
    return contrasted
