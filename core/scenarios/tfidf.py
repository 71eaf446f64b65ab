"""The `tfidf` scenario: TF-IDF word 1-2 grams + logistic regression on name and description.

It needs no downloaded weights, so it always runs, and its word contributions (coefficient x
tf-idf weight) give the explanation pages something real to show on any machine.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from core.progress import Progress, silent
from core.scenarios.base import Features, Scenario

_TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def listing_text(product_name: str, description: str) -> str:
    """The text the scenario reads: the product name first (it measured +1 point of test accuracy),
    then the description."""
    return f"{product_name}. {description}" if product_name else description


class TfidfScenario(Scenario):
    name = "tfidf"
    description = "TF-IDF word 1-2 grams on product name + description, logistic regression"
    version = "1"
    runs_in_seconds = True
    reads_photo = False

    @property
    def model_id(self) -> str:
        return "tfidf-1-2grams-logreg"

    def featurize(self, listings: pd.DataFrame, progress: Progress = silent) -> Features:
        start = time.perf_counter()
        texts = np.array([listing_text(n, d) for n, d in zip(listings["product_name"], listings["description"])],
                         dtype=object)
        return Features(values=texts, rows=np.arange(len(listings)), seconds=time.perf_counter() - start,
                        computed=len(texts))

    def estimator(self, classes: list[str]) -> Pipeline:
        return Pipeline([
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode",
                                      token_pattern=_TOKEN_PATTERN)),
            ("logreg", LogisticRegression(C=20.0, max_iter=3000)),
        ])


@dataclass(frozen=True)
class WordContribution:
    """One word of a text with its share of the class score (positive: pushes towards the class)."""

    word: str
    start: int
    end: int
    score: float


def word_contributions(model: Pipeline, text: str, class_index: int) -> list[WordContribution]:
    """Each word of ``text`` with its contribution to class ``class_index``'s logit.

    A term's contribution is its coefficient times its tf-idf weight; a bigram's is split evenly
    between its two words, so the words' scores add up to the logit minus the intercept.
    """
    vectorizer: TfidfVectorizer = model.named_steps["tfidf"]
    coef = model.named_steps["logreg"].coef_
    coef_row = coef[class_index] if coef.shape[0] > 1 else coef[0] * (1 if class_index == 1 else -1)
    weights = vectorizer.transform([text]).tocoo()
    vocabulary = vectorizer.get_feature_names_out()
    term_score = {vocabulary[j]: coef_row[j] * w for j, w in zip(weights.col, weights.data)}

    preprocess = vectorizer.build_preprocessor()
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(_TOKEN_PATTERN, text)]
    normalised = [preprocess(w) for w, _, _ in words]
    scores = np.zeros(len(words))
    counts: dict[str, int] = {}
    for term in normalised:
        counts[term] = counts.get(term, 0) + 1
    for i, term in enumerate(normalised):
        # A term's tf-idf weight covers all its occurrences: share it among them.
        scores[i] += term_score.get(term, 0.0) / counts[term]
    bigrams = [f"{a} {b}" for a, b in zip(normalised, normalised[1:])]
    bigram_counts: dict[str, int] = {}
    for bigram in bigrams:
        bigram_counts[bigram] = bigram_counts.get(bigram, 0) + 1
    for i, bigram in enumerate(bigrams):
        share = term_score.get(bigram, 0.0) / bigram_counts[bigram] / 2
        scores[i] += share
        scores[i + 1] += share
    return [WordContribution(w, s, e, float(score)) for (w, s, e), score in zip(words, scores)]
