"""The `tfidf` scenario: TF-IDF word 1-2 grams + logistic regression on name and description.

It needs no downloaded weights, so it always runs, and its word contributions (coefficient x
tf-idf weight) give the explanation pages something real to show on any machine.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from core.explain.tfidf_words import TfidfAttributor
from core.progress import Progress, silent
from core.scenarios.base import Features, Scenario
from core.scenarios.keyword_emphasis import KeywordEmphasis
from core.text import TFIDF_TOKEN_PATTERN, listing_text


class TfidfScenario(Scenario):
    name = "tfidf"
    description = "TF-IDF word 1-2 grams on product name + description, logistic regression"
    version = "1"
    runs_in_seconds = True
    reads_photo = False
    supports_keywords = True
    computes_in_python = True
    explains_top_down = True

    @property
    def model_id(self) -> str:
        return "tfidf-1-2grams-logreg"

    def featurize(self, listings: pd.DataFrame, progress: Progress = silent) -> Features:
        start = time.perf_counter()
        texts = self.features_of([None] * len(listings), listings["product_name"], listings["description"],
                                 listings["specifications"] if "specifications" in listings else None)
        return Features(values=texts, rows=np.arange(len(listings)), seconds=time.perf_counter() - start,
                        computed=len(texts))

    def features_of(self, photos: list[Image.Image | None], names: list[str], descriptions: list[str],
                    specifications: list[str] | None = None) -> np.ndarray:
        specifications = [""] * len(names) if specifications is None else specifications
        return np.array([self.text(n, d, s) for n, d, s in zip(names, descriptions, specifications)], dtype=object)

    def text(self, name: str, description: str, specifications: str = "") -> str:
        """The text the classifier reads: the product name, then the description."""
        return listing_text(name, description)

    def estimator(self, classes: list[str]) -> Pipeline:
        emphasis = [("keywords", KeywordEmphasis())] if self.keywords else []
        return Pipeline([
            *emphasis,
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode",
                                      token_pattern=TFIDF_TOKEN_PATTERN)),
            ("logreg", LogisticRegression(C=20.0, max_iter=3000)),
        ])

    def attributor(self, estimator: Pipeline) -> TfidfAttributor:
        return TfidfAttributor(self, estimator)
