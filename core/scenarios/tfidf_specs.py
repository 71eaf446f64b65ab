"""The `tfidf_specs` scenario: the stronger text scenario. Product name, description and the
specification values sellers fill in when they list (type, material, strap, pack size...), read as
word 1-2 grams and character 2-5 grams within word boundaries, side by side under one logistic
regression. The `brand` specification is left out: its presence leaks the label
(``core.specifications``)."""
from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from core.scenarios.keyword_emphasis import KeywordEmphasis
from core.scenarios.tfidf import TfidfScenario
from core.text import TFIDF_TOKEN_PATTERN, listing_text


class TfidfSpecsScenario(TfidfScenario):
    name = "tfidf_specs"
    description = ("TF-IDF word 1-2 grams + character 2-5 grams on product name + description + specifications, "
                   "logistic regression")
    version = "1"
    reads_specifications = True
    runs_in_seconds = True  # about 15 s on the reference data: with tfidf, the Results page opens on a comparison

    @property
    def model_id(self) -> str:
        return "tfidf-words-chars-specifications-logreg"

    def text(self, name: str, description: str, specifications: str = "") -> str:
        """The product name, the description, then the specification values."""
        read = listing_text(name, description)
        return f"{read} {specifications}" if specifications else read

    def estimator(self, classes: list[str]) -> Pipeline:
        emphasis = [("keywords", KeywordEmphasis())] if self.keywords else []
        return Pipeline([
            *emphasis,
            ("tfidf", FeatureUnion([
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode",
                                          token_pattern=TFIDF_TOKEN_PATTERN)),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                          strip_accents="unicode")),
            ])),
            ("logreg", LogisticRegression(C=20.0, max_iter=3000)),
        ])

