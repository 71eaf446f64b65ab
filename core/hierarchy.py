"""The category tree below the first level: each listing's category at a level as a path
(``Home Furnishing > Bed Linen``), small categories merged, and the scores that give credit for the right
ancestors.

The data set's ``product_category_tree`` files a listing under up to 7 levels. At level ``n`` a listing's
category is its path down to level ``n``, grown one level at a time under its category at level ``n - 1``:

- a sub-category with at least ``MIN_LISTINGS_AT_LEVEL`` listings keeps its name;
- the smaller ones, and the listings filed at the parent itself (their tree stops there), are merged into
  ``other <parent>``;
- a parent none of whose sub-categories is large enough is not split: its listings stay at the parent (a
  shorter path), as do the listings of an ``other`` category, which has no sub-categories;
- an ``other <parent>`` smaller than the threshold is left out at that level (listed with why).

The threshold: 10 listings leave at least 8 in the train split, enough for its 5-fold cross-validation, and
2 to test on.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import f1_score

SEPARATOR = " > "
MIN_LISTINGS_AT_LEVEL = 10
OTHER = "other "
MAX_LEVEL = 3  # the deepest level the reference data can split (43 third-level categories with 5+ listings)
_TREE = re.compile(r'^\[\s*"(?P<path>.*)"\s*\]$', re.S)


def tree_path(tree: str) -> list[str]:
    """The levels of a ``product_category_tree`` such as ``["A >> B >> C"]`` (empty when malformed); a
    level's own ``>`` characters are replaced, as they would read as a step in a path."""
    match = _TREE.match(tree.strip()) if isinstance(tree, str) else None
    if match is None:
        return []
    levels = [part.strip().replace(">", "-") for part in match.group("path").split(">>")]
    return [level for level in levels if level]


def parent_of(path: str) -> str | None:
    """The path one level up; None for a first-level category."""
    head, _, _ = path.rpartition(SEPARATOR)
    return head or None


def ancestors(path: str) -> list[str]:
    """The path and every path above it, from the first level down (Kiritchenko's augmented set)."""
    parts = path.split(SEPARATOR)
    return [SEPARATOR.join(parts[:k]) for k in range(1, len(parts) + 1)]


def other_path(parent: str) -> str:
    """The path of the ``other <parent>`` category the merge rule files a parent's small sub-categories under."""
    return f"{parent}{SEPARATOR}{OTHER}{parent.rpartition(SEPARATOR)[2]}"


def is_other(path: str) -> bool:
    """Whether the path ends in a merged ``other <parent>`` category."""
    return path.rpartition(SEPARATOR)[2].startswith(OTHER)


@dataclass(frozen=True)
class LevelCategories:
    """Each listing's category at one level, and what the merge rule did there."""

    level: int
    paths: list[str | None]  # one per listing; None: left out at this level
    merged: dict[str, dict[str, int]] = field(default_factory=dict)  # "other" path -> {sub-category: listings}
    left_out: dict[str, int] = field(default_factory=dict)  # an "other" path too small to learn -> listings
    unsplit: list[str] = field(default_factory=list)  # parents none of whose sub-categories is large enough


def categories_at_level(firsts: Sequence[str], trees: Sequence[Sequence[str]], level: int,
                        minimum: int = MIN_LISTINGS_AT_LEVEL) -> LevelCategories:
    """The listings' categories at ``level`` (1 = ``firsts``, the first-level categories as loaded), from
    their tree paths ``trees`` by the merge rule of this module."""
    if level < 1:
        raise ValueError(f"Levels start at 1; got {level}.")
    paths: list[str | None] = list(firsts)
    merged: dict[str, dict[str, int]] = {}
    left_out: dict[str, int] = {}
    unsplit: list[str] = []
    for depth in range(1, level):
        def growing(path: str | None) -> bool:  # a category this step may split: not left out, not a leaf yet
            return path is not None and not is_other(path) and path.count(SEPARATOR) == depth - 1

        children = [tree[depth] if growing(path) and len(tree) > depth else None for path, tree in zip(paths, trees)]
        counts = Counter((path, child) for path, child in zip(paths, children) if child is not None)
        split = {path for (path, _), n in counts.items() if n >= minimum}  # parents with a large enough child
        grown: list[str | None] = []
        for path, child in zip(paths, children):
            if not growing(path) or path not in split:
                grown.append(path)  # left out above, a leaf already, or not split
            elif child is not None and counts[(path, child)] >= minimum:
                grown.append(f"{path}{SEPARATOR}{child}")
            else:
                other = other_path(path)
                grown.append(other)
                merged.setdefault(other, {})
                name = child if child is not None else "(filed here)"
                merged[other][name] = merged[other].get(name, 0) + 1
        unsplit += sorted({path for path in paths if growing(path) and path not in split})
        sizes = Counter(p for p in grown if p is not None)
        for path, size in sizes.items():
            if is_other(path) and size < minimum:
                left_out[path] = size
        paths = [None if p in left_out else p for p in grown]
    return LevelCategories(level, paths, {k: v for k, v in merged.items() if k not in left_out}, left_out,
                           unsplit)


def at_level(listings: pd.DataFrame, level: int, minimum: int = MIN_LISTINGS_AT_LEVEL
             ) -> tuple[pd.DataFrame, LevelCategories]:
    """The listings with their category as a path at ``level`` (``category``; the first level kept in
    ``main_category``), those left out at that level dropped (the others keep their index, so a split drawn
    on all the listings still lines up); and what the merge rule did."""
    trees = [tree_path(t) for t in listings["category_tree"]] if "category_tree" in listings else \
        [[c] for c in listings["category"]]
    # A corrected first level makes the tree below it wrong: such a listing is filed at its new category.
    trees = [tree if tree[:1] == [category] else [category] for tree, category in zip(trees, listings["category"])]
    found = categories_at_level(list(listings["category"]), trees, level, minimum)
    kept = listings.assign(main_category=listings["category"], category=found.paths)
    return kept[kept["category"].notna()], found


def answerable(listings: pd.DataFrame, predicted: Sequence[object]) -> list[str]:
    """The categories an operator may answer for products whose model answers are ``predicted``: the first
    level's when no answer is a path; otherwise every path at the deepest level they reach (the merge rule
    applied to ``listings``), with the first level's, so that a product can be filed at its parent."""
    depth = max((str(p).count(SEPARATOR) + 1 for p in predicted if isinstance(p, str) and p), default=1)
    first = sorted(set(listings["category"]))
    if depth == 1:
        return first
    return sorted(set(first) | set(at_level(listings, depth)[0]["category"]))


def hierarchical_scores(true: Sequence[str], predicted: Sequence[str]) -> tuple[float, float, float]:
    """Hierarchical precision, recall and F1 (Kiritchenko et al. 2006): each path stands for itself and all
    its ancestors, and a prediction earns credit for every right ancestor."""
    overlap = guessed = actual = 0
    for truth, guess in zip(true, predicted):
        truth_set, guess_set = set(ancestors(truth)), set(ancestors(guess))
        overlap += len(truth_set & guess_set)
        guessed += len(guess_set)
        actual += len(truth_set)
    precision = overlap / guessed if guessed else 0.0
    recall = overlap / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def level_accuracy(true: Sequence[str], predicted: Sequence[str], level: int) -> float:
    """The share of listings whose category is right down to ``level`` (a shorter path counts as far as it
    goes)."""
    return float(np.mean([cut_path(t, level) == cut_path(p, level) for t, p in zip(true, predicted)])) if len(true) \
        else float("nan")


class TopDownClassifier(ClassifierMixin, BaseEstimator):
    """Top-down over the tree: a copy of ``estimator`` picks the first level, then one per parent picks among
    its sub-categories, and so on down. A path's probability is its parent's times its own given the parent,
    so the answers sum to 1 and never file a sub-category under another parent.

    ``paths``, every category's path in sorted order, reads labels given as their positions in it (scikit-learn's
    ``cross_val_predict`` encodes them so), and the classes are then those positions."""

    def __init__(self, estimator: BaseEstimator, paths: Sequence[str] = ()):
        self.estimator = estimator
        self.paths = paths

    def fit(self, X, y) -> TopDownClassifier:
        y = np.asarray(y)
        encoded = np.issubdtype(y.dtype, np.integer)
        paths = np.asarray(self.paths, dtype=object)[y] if encoded else y.astype(object)
        self.classes_ = np.unique(y)  # sorted, as the paths they stand for are
        self._column = {path: i for i, path in enumerate(sorted(set(paths)))}
        self.root_ = self._fit_node(X, paths, 1)
        return self

    def _fit_node(self, X, y: np.ndarray, depth: int) -> dict:
        steps = np.array([cut_path(path, depth) for path in y], dtype=object)
        choices = sorted(set(steps))
        model = clone(self.estimator).fit(X, steps) if len(choices) > 1 else None
        below = {}
        for step in choices:
            here = np.flatnonzero(steps == step)
            if any(path != step for path in y[here]):  # the step is a parent: its listings go deeper
                below[step] = self._fit_node(_rows(X, here), y[here], depth + 1)
        return {"model": model, "choices": choices, "below": below}

    def predict_proba(self, X) -> np.ndarray:
        found = np.zeros((_length(X), len(self.classes_)))
        self._spread(self.root_, X, np.ones(_length(X)), found, self._column)
        return found

    def _spread(self, node: dict, X, weight: np.ndarray, found: np.ndarray, column: dict) -> None:
        if node["model"] is None:
            proba = np.ones((_length(X), 1))
        else:
            model_classes = list(node["model"].classes_)
            proba = node["model"].predict_proba(X)[:, [model_classes.index(c) for c in node["choices"]]]
        for j, step in enumerate(node["choices"]):
            if step in node["below"]:
                self._spread(node["below"][step], X, weight * proba[:, j], found, column)
            else:
                found[:, column[step]] += weight * proba[:, j]

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def cut_path(path: str, depth: int) -> str:
    """The path down to ``depth`` levels (the path itself when it is shorter)."""
    return SEPARATOR.join(path.split(SEPARATOR)[:depth])


def _length(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _rows(X, index: np.ndarray):
    if hasattr(X, "iloc"):
        return X.iloc[index]
    if isinstance(X, list):
        return [X[i] for i in index]
    return X[index]


def level_report(true: Sequence[str], predicted: Sequence[str]) -> dict:
    """Scores of path answers per level of the tree (accuracy and macro-F1 of the paths cut to that level)
    and hierarchical precision, recall and F1 over the whole paths."""
    depth = max((path.count(SEPARATOR) + 1 for path in true), default=1)
    report: dict = {}
    for level in range(1, depth + 1):
        cut_true = [cut_path(path, level) for path in true]
        cut_predicted = [cut_path(path, level) for path in predicted]
        report[f"level{level}_accuracy"] = level_accuracy(true, predicted, level)
        report[f"level{level}_macro_f1"] = float(f1_score(cut_true, cut_predicted, average="macro", zero_division=0))
    report["hierarchical_precision"], report["hierarchical_recall"], report["hierarchical_f1"] = \
        hierarchical_scores(true, predicted)
    return report


def level_confidences(proba: np.ndarray, classes: Sequence[str], level: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row of path probabilities: the best path's category at ``level`` (its ancestor there) and how
    sure the model is of it, the summed probability of every path under that ancestor."""
    proba = np.asarray(proba, dtype=float)
    cut = np.array([cut_path(c, level) for c in classes], dtype=object)
    best = np.nan_to_num(proba, nan=-1.0).argmax(axis=1)
    # Each ancestor's probability at once, summed over its paths (a row not classified stays NaN).
    ancestors_found, ancestor_of = np.unique(cut, return_inverse=True)
    summed = proba @ (ancestor_of[:, None] == np.arange(len(ancestors_found)))
    return cut[best], summed[np.arange(len(proba)), ancestor_of[best]]


@dataclass(frozen=True)
class BackOff:
    """Filing at the deepest level whose cut-off a listing passes, and to review when none does: one review
    cut-off per level (``cutoffs[0]`` for the first level), each from the held-out predictions at that level,
    each with its own guarantee over the listings it passes."""

    cutoffs: list  # one ReviewThreshold per level, the first level first

    def file(self, predicted: Sequence[Sequence[str]], confidences: Sequence[Sequence[float]]) -> np.ndarray:
        """The level each listing is filed at (0: none, it goes to review), from its category and confidence at
        each level (one sequence per level, the first level first)."""
        filed = np.zeros(len(predicted[0]), dtype=int)
        for level, (threshold, categories, sure) in enumerate(zip(self.cutoffs, predicted, confidences), start=1):
            # Each level's guarantee covers every listing its cut-off passes, whatever the levels above say.
            passes = ~threshold.needs_review(np.asarray(sure, dtype=float), np.asarray(categories, dtype=object))
            filed = np.where(passes, level, filed)
        return filed

    def columns(self, proba: np.ndarray, classes: Sequence[str]) -> dict[str, np.ndarray]:
        """A batch's back-off columns from its path probabilities (NaN rows: not classified): the best path
        (``predicted_path``), the level it is filed at (``accepted_level``, 0: review) and the confidence at
        each level (``confidence_level1``, ...)."""
        levels = range(1, len(self.cutoffs) + 1)
        found = [level_confidences(proba, classes, level) for level in levels]
        classified = ~np.isnan(np.asarray(proba, dtype=float)).any(axis=1)
        columns = {"predicted_path": np.where(classified, found[-1][0], None),
                   "accepted_level": self.file([f[0] for f in found], [f[1] for f in found])}
        for level, (_, sure) in zip(levels, found):
            columns[f"confidence_level{level}"] = sure
        return columns


def parent_confusion(true: Sequence[str], predicted: Sequence[str], parent: str) -> pd.DataFrame:
    """The confusion among one parent's sub-categories (rows: the true ones, columns: the predicted ones), with a
    last column for the listings put under another parent: a matrix that stays readable on a narrow screen."""
    depth = parent.count(SEPARATOR) + 1
    under = [(t, p) for t, p in zip(true, predicted) if cut_path(t, depth) == parent]
    children = sorted({t for t, _ in under} | {p for _, p in under if cut_path(p, depth) == parent})
    other = "under another parent"
    frame = pd.DataFrame(0, index=children, columns=[*children, other], dtype=int)
    for t, p in under:
        frame.at[t, p if cut_path(p, depth) == parent else other] += 1
    return frame
