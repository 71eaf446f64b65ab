"""Why tfidf decided: each word's signed contribution to the class logit (coefficient x tf-idf weight)."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import numpy as np
from PIL import Image
from sklearn.pipeline import Pipeline

from core.explain.base import Explainer
from core.explain.explanation import Explanation, WordRelevance
from core.text import TFIDF_TOKEN_PATTERN, listing_text


def word_contributions(model: Pipeline, text: str, class_index: int) -> list[WordRelevance]:
    """Each word of ``text`` with its contribution to class ``class_index``'s logit.

    A term's contribution is its coefficient times its tf-idf weight; a bigram's is split evenly
    between its two words, so the words' scores add up to the logit minus the intercept.
    """
    vectorizer = model.named_steps["tfidf"]
    coef = model.named_steps["logreg"].coef_
    coef_row = coef[class_index] if coef.shape[0] > 1 else coef[0] * (1 if class_index == 1 else -1)
    # With keyword weighting the model reads its keywords repeated: their weights come from that text.
    emphasis = model.named_steps.get("keywords")
    weights = vectorizer.transform(emphasis.transform([text]) if emphasis is not None else [text]).tocoo()
    vocabulary = vectorizer.get_feature_names_out()
    term_score = {vocabulary[j]: coef_row[j] * w for j, w in zip(weights.col, weights.data)}

    preprocess = vectorizer.build_preprocessor()
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(TFIDF_TOKEN_PATTERN, text)]
    normalised = [preprocess(w) for w, _, _ in words]
    scores = np.zeros(len(words))
    counts = Counter(normalised)
    for i, term in enumerate(normalised):
        # A term's tf-idf weight covers all its occurrences: share it among them.
        scores[i] += term_score.get(term, 0.0) / counts[term]
    bigrams = [f"{a} {b}" for a, b in zip(normalised, normalised[1:])]
    bigram_counts = Counter(bigrams)
    for i, bigram in enumerate(bigrams):
        share = term_score.get(bigram, 0.0) / bigram_counts[bigram] / 2
        scores[i] += share
        scores[i + 1] += share
    return [WordRelevance(w, s, e, float(score)) for (w, s, e), score in zip(words, scores)]


class TfidfExplainer(Explainer):
    """The tfidf scenario's explanations: word contributions of the text it reads (name, then
    description), shown on the description."""

    def attribute(self, photo: Image.Image | None, name: str, description: str, target: str) -> Explanation:
        model = self.estimator
        text = listing_text(name, description)
        probabilities = dict(zip(self.classes, model.predict_proba([text])[0].tolist()))
        offset = len(text) - len(description)  # the name is prepended: shift back onto the description
        words = [replace(w, start=w.start - offset, end=w.end - offset)
                 for w in word_contributions(model, text, self.classes.index(target)) if w.start >= offset]
        notes = ()
        if model.named_steps["tfidf"].transform([text]).nnz == 0:
            notes = ("None of these words occurs in the listings tfidf learnt from, so its answer says nothing "
                     "about this text: it only reflects how common each category was.",)
        return Explanation(target, probabilities, None, words, notes=notes, signed_scores=True)
