"""Global importance: the words that drive each category, the basis of the seller guide."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from core.explain.rendering import word_score
from core.explain.service import ScenarioExplainer
from core.progress import Progress, silent

MIN_LISTINGS = 5  # a word must matter in this many listings of a category to count
# Words in more than this share of all listings are shop boilerplate ("flipkart com", "buy", "only").
MAX_LISTING_SHARE = 0.3


def aggregate_keywords(rows: pd.DataFrame, listings_per_category: pd.Series, top: int = 10,
                       min_listings: int = MIN_LISTINGS) -> pd.DataFrame:
    """From one row per (listing, category, word, score): each word's mean score per listing of the
    category, top words first. Left out: English stop words, numbers, boilerplate (words in more
    than 30 % of all listings) and words found in fewer than ``min_listings`` listings of the category."""
    share = rows.groupby("word")["uniq_id"].nunique() / max(rows["uniq_id"].nunique(), 1)
    boilerplate = set(share[share > MAX_LISTING_SHARE].index)
    rows = rows[~rows["word"].isin(ENGLISH_STOP_WORDS | boilerplate) & ~rows["word"].str.isdigit()]
    grouped = rows.groupby(["category", "word"]).agg(total=("score", "sum"), listings=("uniq_id", "nunique"))
    grouped = grouped[grouped["listings"] >= min_listings].reset_index()
    grouped["score"] = grouped["total"] / grouped["category"].map(listings_per_category)
    grouped = grouped.sort_values(["category", "score"], ascending=[True, False])
    return grouped.groupby("category").head(top)[["category", "word", "score", "listings"]].reset_index(drop=True)


def relevance_keywords(explainer: ScenarioExplainer, top: int = 10, min_listings: int = MIN_LISTINGS,
                       progress: Progress = silent) -> pd.DataFrame:
    """Each word's relevance for its listing's own category, aggregated over the dataset (CLIP
    relevance shares or tfidf contributions, from the cached per-listing explanations)."""
    listings = explainer.dataset.listings
    rows = []
    for done, (uniq_id, category) in enumerate(zip(listings["uniq_id"], listings["category"])):
        progress(done, len(listings), "explaining listings")
        for word in explainer.explain_listing(uniq_id, target=category).words:
            if getattr(word, "seen", True):
                rows.append((uniq_id, category, word.word.lower(), word_score(word)))
    progress(len(listings), len(listings), "explaining listings")
    frame = pd.DataFrame(rows, columns=["uniq_id", "category", "word", "score"])
    return aggregate_keywords(frame, listings["category"].value_counts(), top, min_listings)


def tfidf_coefficient_keywords(model, top: int = 10) -> pd.DataFrame:
    """The tfidf scenario's strongest positive terms per category, from its coefficients."""
    vocabulary = model.named_steps["tfidf"].get_feature_names_out()
    coef = model.named_steps["logreg"].coef_
    rows = []
    for category, weights in zip(model.classes_, coef):
        for index in np.argsort(-weights)[:top]:
            rows.append({"category": str(category), "word": vocabulary[index], "score": float(weights[index])})
    return pd.DataFrame(rows)
