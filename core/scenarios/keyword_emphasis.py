"""Keyword weighting, the study's variant for text classifiers: the seller guide's top words per
category, learnt from the texts the classifier is fitted on, weigh more in the text it reads.

How: a first pipeline step finds, on its training texts only (the train split, or a cross-validation
fold's training part), each category's top ``top`` words as the seller guide ranks them (each word's
contribution, coefficient x tf-idf weight, to its listing's own category under a word-level tf-idf
logistic regression, averaged over the category; stop words, numbers and shop boilerplate left out).
Every occurrence of those words is then written ``repeat`` times in every text, so with sublinear tf
a keyword counts about 1 + ln(repeat) times as much.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from core.explain.keywords import aggregate_keywords
from core.text import TFIDF_TOKEN_PATTERN

TOP_WORDS = 10
REPEAT = 3


class KeywordEmphasis(TransformerMixin, BaseEstimator):
    """Writes each seller-guide keyword found at fit time ``repeat`` times wherever it occurs."""

    def __init__(self, top: int = TOP_WORDS, repeat: int = REPEAT):
        self.top = top
        self.repeat = repeat

    def fit(self, texts, y):
        texts, y = list(texts), np.asarray(y)
        vectorizer = TfidfVectorizer(sublinear_tf=True, strip_accents="unicode", token_pattern=TFIDF_TOKEN_PATTERN)
        weights = vectorizer.fit_transform(texts).tocoo()
        model = LogisticRegression(C=20.0, max_iter=3000).fit(vectorizer.transform(texts), y)
        own_class = np.searchsorted(model.classes_, y)
        coef = model.coef_ if len(model.classes_) > 2 else np.vstack([-model.coef_[0], model.coef_[0]])
        words = vectorizer.get_feature_names_out()
        rows = pd.DataFrame({"uniq_id": weights.row, "category": y[weights.row], "word": words[weights.col],
                             "score": weights.data * coef[own_class[weights.row], weights.col]})
        guide = aggregate_keywords(rows, pd.Series(y).value_counts(), self.top, min_listings=2)
        self.keywords_ = {category: group["word"].tolist() for category, group in guide.groupby("category")}
        found = sorted({word for words in self.keywords_.values() for word in words}, key=len, reverse=True)
        self.pattern_ = re.compile(r"\b(" + "|".join(map(re.escape, found)) + r")\b", re.IGNORECASE) if found \
            else None
        return self

    def transform(self, texts) -> np.ndarray:
        if self.pattern_ is None:
            return np.asarray(list(texts), dtype=object)
        return np.array([self.pattern_.sub(lambda m: " ".join([m.group()] * self.repeat), text) for text in texts],
                        dtype=object)
