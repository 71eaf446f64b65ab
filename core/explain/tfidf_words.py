"""Why tfidf and tfidf_specs decided: each word's signed contribution to the class score (coefficient x tf-idf
weight; tfidf's logit, tfidf_specs' SVM margin)."""
from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import FeatureUnion, Pipeline

from core.explain.base import Attributor, ListingInput
from core.explain.explanation import Explanation, WordRelevance
from core.hierarchy import SEPARATOR, TopDownClassifier, cut_path, parent_of
from core.text import TFIDF_TOKEN_PATTERN, listing_text


def linear_scorer(model: Pipeline):
    """The fitted linear classifier at the end of a tfidf pipeline, whose ``coef_`` weigh each term: the last
    step itself (tfidf's logistic regression), or the one SVM a calibrated classifier fitted on all its data
    (tfidf_specs; its probabilities are a monotone function of that SVM's scores)."""
    last = model.steps[-1][1]
    return last.calibrated_classifiers_[0].estimator if isinstance(last, CalibratedClassifierCV) else last


def word_contributions(model: Pipeline, text: str, class_index: int) -> list[WordRelevance]:
    """Each word of ``text`` with its contribution to class ``class_index``'s score (tfidf's logit, the
    SVM's margin for tfidf_specs).

    A term's contribution is its coefficient times its tf-idf weight; a bigram's is split evenly
    between its two words, and with character n-grams beside the words (tfidf_specs) each n-gram's
    goes to the words it lies in, so the words' scores add up to the score minus the intercept.
    """
    features = model.named_steps["tfidf"]
    coef = linear_scorer(model).coef_
    coef_row = coef[class_index] if coef.shape[0] > 1 else coef[0] * (1 if class_index == 1 else -1)
    # With keyword weighting the model reads its keywords repeated: their weights come from that text.
    emphasis = model.named_steps.get("keywords")
    read = emphasis.transform([text])[0] if emphasis is not None else text
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(TFIDF_TOKEN_PATTERN, text)]
    if isinstance(features, FeatureUnion):  # word n-grams, then character n-grams, side by side
        parts = dict(features.transformer_list)
        width = len(parts["words"].get_feature_names_out())
        scores = _word_scores(parts["words"], coef_row[:width], read, words)
        scores += _character_scores(parts["chars"], coef_row[width:], text, read, words)
    else:
        scores = _word_scores(features, coef_row, read, words)
    return [WordRelevance(w, s, e, float(score)) for (w, s, e), score in zip(words, scores)]


def _term_scores(vectorizer, coef: np.ndarray, read: str) -> dict[str, float]:
    weights = vectorizer.transform([read]).tocoo()
    vocabulary = vectorizer.get_feature_names_out()
    return {vocabulary[j]: coef[j] * w for j, w in zip(weights.col, weights.data)}


def _word_scores(vectorizer, coef: np.ndarray, read: str, words: list[tuple[str, int, int]]) -> np.ndarray:
    """Word uni- and bigram contributions, each term's shared among its occurrences."""
    term_score = _term_scores(vectorizer, coef, read)
    preprocess = vectorizer.build_preprocessor()
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
    return scores


def _character_scores(vectorizer, coef: np.ndarray, text: str, read: str,
                      words: list[tuple[str, int, int]]) -> np.ndarray:
    """Character n-gram contributions (n-grams within words), each shared among its occurrences, then
    each whitespace-separated chunk's total split evenly among the words in it."""
    term_score = _term_scores(vectorizer, coef, read)
    analyse = vectorizer.build_analyzer()
    chunks = [(m.start(), m.end(), analyse(m.group())) for m in re.finditer(r"\S+", text)]
    counts = Counter(gram for _, _, grams in chunks for gram in grams)
    starts = [start for _, start, _ in words]
    scores = np.zeros(len(words))
    for start, end, grams in chunks:
        inside = range(bisect_left(starts, start), bisect_left(starts, end))
        if len(inside):
            total = sum(term_score.get(gram, 0.0) / counts[gram] for gram in grams)
            scores[inside.start:inside.stop] += total / len(inside)
    return scores


class TfidfAttributor(Attributor):
    """The tfidf scenarios' relevance: word contributions of the text they read (name, then description,
    then for tfidf_specs the specifications), shown on the description."""

    def _relevance(self, listings: Sequence[ListingInput], targets: list[str]) -> list[Explanation]:
        return [self._contributions(listing, target) for listing, target in zip(listings, targets)]

    def _contributions(self, listing: ListingInput, target: str) -> Explanation:
        name, description = listing.name, listing.description
        text = self.scenario.text(name, description, listing.specifications)
        probabilities = dict(zip(self.classes, self.estimator.predict_proba([text])[0].tolist()))
        # The name is prepended: shift back onto the description.
        offset = len(listing_text(name, description)) - len(description)
        shown = offset + len(description)  # what follows (specifications) is read but not shown
        model, step, siblings = self._deciding(target)
        scored = word_contributions(model, text, list(model.classes_).index(step))
        notes = ()
        if siblings:
            # Below the first level the question is why this sub-category and not its siblings: a word's
            # contribution to the score of the target against the siblings' mean (contributions are linear in
            # the coefficients, so this is the target's minus the siblings' average).
            others = np.array([[w.score for w in word_contributions(model, text, list(model.classes_).index(c))]
                               for c in siblings])
            scored = [replace(w, score=w.score - float(others[:, i].mean())) for i, w in enumerate(scored)]
            notes = (f"Each word's relevance is for {step.rpartition(SEPARATOR)[2]} against the other "
                     f"sub-categories of {parent_of(step)}: {', '.join(c.rpartition(SEPARATOR)[2] for c in siblings)}"
                     + (" (the classifier of that parent, which chose it)." if model is not self.estimator else "."),)
        words = [replace(w, start=w.start - offset, end=w.end - offset) for w in scored if offset <= w.start < shown]
        title_words = [w for w in scored if w.end <= len(name)] if name else []  # the title comes first
        if model.named_steps["tfidf"].transform([text]).nnz == 0:
            notes += ("None of these words occurs in the listings tfidf learnt from, so its answer says nothing "
                     "about this text: it only reflects how common each category was.",)
        return Explanation(target, probabilities, None, words, notes=notes, signed_scores=True,
                           title_words=title_words)

    def _deciding(self, target: str) -> tuple[Pipeline, str, list[str]]:
        """The classifier whose choice put ``target`` ahead, the class it chose (``target`` or, top-down, the
        deepest step of its path that a classifier chose) and that class's siblings among its choices. Flat:
        the one classifier, and the target's siblings under its parent. Top-down (``TopDownClassifier``): the
        classifier of the target's parent, which chose among its sub-categories."""
        if not isinstance(self.estimator, TopDownClassifier):
            parent = parent_of(target)
            siblings = [c for c in self.classes if c != target and parent and parent_of(c) == parent]
            return self.estimator, target, siblings
        node, chosen = self.estimator.root_, None
        for depth in range(1, target.count(SEPARATOR) + 2):
            step = cut_path(target, depth)
            if node["model"] is not None:  # a parent with one sub-category chose nothing: its own parent did
                chosen = (node["model"], step, [c for c in node["choices"] if c != step])
            if step not in node["below"]:
                break
            node = node["below"][step]
        model, step, others = chosen
        return model, step, others if parent_of(step) else []
