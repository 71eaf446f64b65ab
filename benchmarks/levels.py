"""How right are the text scenarios at a level of the category tree, measured two ways side by side.

- **The product's protocol**, as ``python -m core run S --level 2`` prints it: the merge rule's categories
  (small sub-categories merged into ``other <parent>``), 5-fold CV inside the train split (80 % of the
  listings).
- **The quick check's protocol**, as issue 25 measured its flat baselines (0.905 to 0.927): only the
  listings whose sub-category has at least 5 listings, no ``other`` categories, 5-fold CV over all of them.

Each scenario's own classifier is measured, and beside tfidf_specs the logistic regression it used before
(the same features), so that the change of classifier is a measurement, not a claim.

    .venv/bin/python benchmarks/levels.py [--level 2] [--scenarios tfidf tfidf_specs] [--alternatives]

The last line reads ``product_cv P quick_check_cv Q`` for tfidf_specs (issue 25's target: 0.93).

``--alternatives`` also measures, in the product's protocol and on its folds, the other ways tried to pass
tfidf_specs' linear SVM (docs/category-tree.md): other classifiers on its features, a stack of them, training one
level deeper, leaving out the labels the SVM doubts, and the photos as thumbnails (the only photo features that
need no pretrained weights), with the share that the SVM or the thumbnails get right: an upper bound for any
way of choosing between the two. Its last line reads ``best_alternative NAME A svm S svm_or_thumbnails U``.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.base import clone
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.naive_bayes import ComplementNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import cpu_line  # noqa: E402

from core.dataset import load_dataset  # noqa: E402
from core.evaluation import protocol_listings  # noqa: E402
from core.hierarchy import SEPARATOR, tree_path  # noqa: E402
from core.scenarios.registry import scenario_named  # noqa: E402
from core.scenarios.variants import variant  # noqa: E402
from core.split import SEED, cv_folds  # noqa: E402
from core.workspace import Workspace  # noqa: E402

QUICK_CHECK_MINIMUM = 5  # the quick check kept the sub-categories with at least 5 listings
THUMBNAIL_SIDE = 16


def product_cv(model, scenario, listings, level: int) -> np.ndarray:
    """Fold accuracies as ``run --level`` measures them: the merge rule's categories, CV in the train split."""
    kept, split = protocol_listings(variant(scenario, level=level), listings)
    is_train = split == "train"
    X = scenario.featurize(kept).values[is_train]
    y = kept["category"].to_numpy()[is_train]
    return cross_val_score(clone(model), X, y, cv=cv_folds(y), n_jobs=-1)


def quick_check_cv(model, scenario, listings, level: int) -> np.ndarray:
    """Fold accuracies as the issue's quick check measured them: only sub-categories with at least 5 listings,
    5-fold CV over all their listings."""
    paths = [SEPARATOR.join(tree[:level]) if len(tree) >= level else None
             for tree in (tree_path(t) for t in listings["category_tree"])]
    counts = Counter(p for p in paths if p)
    keep = np.array([p is not None and counts[p] >= QUICK_CHECK_MINIMUM for p in paths])
    X = scenario.featurize(listings[keep].reset_index(drop=True)).values
    y = np.array(paths, dtype=object)[keep]
    return cross_val_score(clone(model), X, y, cv=StratifiedKFold(5, shuffle=True, random_state=SEED), n_jobs=-1)


def _out_of_fold(model, X, y, folds) -> np.ndarray:
    return cross_val_predict(clone(model), X, y, cv=folds, n_jobs=-1)


def _one_level_deeper(model, X, y, trees, level: int, folds) -> np.ndarray:
    """Out-of-fold answers of ``model`` trained on each category's sub-categories one level down (where they
    have 5 listings), read back as the category they are under."""
    deeper = np.array([f"{c} // {t[level]}" if len(t) > level else c for c, t in zip(y, trees)], dtype=object)
    counts = Counter(deeper)
    deeper = np.array([d if counts[d] >= QUICK_CHECK_MINIMUM else c for d, c in zip(deeper, y)], dtype=object)
    found = np.empty(len(y), dtype=object)
    for train, test in folds.split(X, y):
        found[test] = [p.split(" // ")[0] for p in clone(model).fit(X[train], deeper[train]).predict(X[test])]
    return found


def _doubtful_left_out(model, X, y, folds, margin: float = 1.0) -> np.ndarray:
    """Out-of-fold answers of ``model`` trained without the listings whose label its own out-of-fold scores (inside
    the training folds) put more than ``margin`` below another category."""
    found = np.empty(len(y), dtype=object)
    for train, test in folds.split(X, y):
        inner = StratifiedKFold(5, shuffle=True, random_state=SEED)
        scores = cross_val_predict(clone(model), X[train], y[train], cv=inner, method="decision_function")
        classes = np.unique(y[train])
        own = np.searchsorted(classes, y[train])
        rows = np.arange(len(own))
        labelled = scores[rows, own]
        scores[rows, own] = -np.inf
        keep = train[labelled - scores.max(axis=1) >= -margin]
        found[test] = clone(model).fit(X[keep], y[keep]).predict(X[test])
    return found


def _thumbnails(listings) -> np.ndarray:
    """Each listing's photo as a tiny colour thumbnail, centred and scaled (zeros where it has none)."""
    rows = []
    for path in listings["image_path"]:
        if isinstance(path, str) and Path(path).is_file():
            with Image.open(path) as photo:
                photo.draft("RGB", (4 * THUMBNAIL_SIDE, 4 * THUMBNAIL_SIDE))  # JPEG decodes small: much faster
                pixels = np.asarray(photo.convert("RGB").resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE)), dtype=np.float32)
            rows.append(pixels.ravel() - pixels.mean())
        else:
            rows.append(np.zeros(3 * THUMBNAIL_SIDE**2, dtype=np.float32))
    return np.array(rows)


def alternatives(scenario, listings, level: int) -> dict[str, float]:
    """Out-of-fold accuracy of each other way tried to pass tfidf_specs' SVM at ``level``, in the product's
    protocol and on its folds, with the SVM's own and the share that it or the thumbnails get right."""
    kept, split = protocol_listings(variant(scenario, level=level), listings)
    train = kept[split == "train"].reset_index(drop=True)
    X, y = scenario.featurize(train).values, train["category"].to_numpy()
    folds, svm = cv_folds(y), scenario.estimator([])
    features = svm.named_steps["tfidf"]

    def on_features(classifier):
        return Pipeline([("tfidf", clone(features)), ("classifier", classifier)])
    plain_svm = on_features(LinearSVC(class_weight="balanced"))
    stack = StackingClassifier([("svm", LinearSVC(class_weight="balanced")),
                                ("ridge", RidgeClassifier(class_weight="balanced")),
                                ("neighbours", KNeighborsClassifier(3, metric="cosine", weights="distance")),
                                ("bayes", ComplementNB(alpha=0.1))],
                               final_estimator=LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced"),
                               cv=StratifiedKFold(5, shuffle=True, random_state=0))
    answers = {"linear SVM (tfidf_specs)": _out_of_fold(svm, X, y, folds)}
    for label, model in {"ridge": RidgeClassifier(class_weight="balanced"),
                         "logistic regression": LogisticRegression(C=20.0, max_iter=3000),
                         "nearest neighbour": KNeighborsClassifier(1, metric="cosine"),
                         "complement naive Bayes": ComplementNB(alpha=0.1), "a stack of four": stack}.items():
        answers[label] = _out_of_fold(on_features(model), X, y, folds)
    trees = [tree_path(t) for t in train["category_tree"]]
    answers["trained one level deeper"] = _one_level_deeper(plain_svm, X, y, trees, level, folds)
    answers["doubtful labels left out"] = _doubtful_left_out(plain_svm, X, y, folds)
    answers["photo thumbnails"] = _out_of_fold(KNeighborsClassifier(1, metric="cosine"), _thumbnails(train), y, folds)
    found = {label: float((found == y).mean()) for label, found in answers.items()}
    either = (answers["linear SVM (tfidf_specs)"] == y) | (answers["photo thumbnails"] == y)
    found["the SVM or the thumbnails"] = float(either.mean())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=2)
    parser.add_argument("--scenarios", nargs="+", default=["tfidf", "tfidf_specs"])
    parser.add_argument("--alternatives", action="store_true",
                        help="also measure the other ways tried to pass tfidf_specs' SVM (a few minutes)")
    args = parser.parse_args()
    print(cpu_line())
    data = Path(os.environ.get("VITRINE_DATA_DIR") or load_dataset().csv_path.parent)
    listings = load_dataset(data).listings
    workspace = Workspace.from_environment()
    print(f"data: {len(listings)} listings in {data}; level {args.level}")
    found = {}
    for name in args.scenarios:
        scenario = scenario_named(name, workspace)
        model = scenario.estimator([])
        measured = {name: model}
        if name == "tfidf_specs":  # the classifier it had before, on the same features
            measured[f"{name} with logistic regression"] = clone(model).set_params(
                classifier=LogisticRegression(C=20.0, max_iter=3000))
        for label, estimator in measured.items():
            product = product_cv(estimator, scenario, listings, args.level)
            quick = quick_check_cv(estimator, scenario, listings, args.level)
            found[label] = (product.mean(), quick.mean())
            print(f"{label}: product's protocol {product.mean():.1%} ± {product.std():.1%}; "
                  f"quick check's protocol {quick.mean():.1%} ± {quick.std():.1%}", flush=True)
    product, quick = found.get("tfidf_specs", next(iter(found.values())))
    print(f"product_cv {product:.4f} quick_check_cv {quick:.4f}")
    if args.alternatives:
        measured = alternatives(scenario_named("tfidf_specs", workspace), listings, args.level)
        for label, accuracy in measured.items():
            print(f"{label}: {accuracy:.1%} out of fold", flush=True)
        svm, either = measured.pop("linear SVM (tfidf_specs)"), measured.pop("the SVM or the thumbnails")
        best = max(measured, key=measured.get)
        print(f"best_alternative {best.replace(' ', '_')} {measured[best]:.4f} svm {svm:.4f} "
              f"svm_or_thumbnails {either:.4f}")


if __name__ == "__main__":
    main()
