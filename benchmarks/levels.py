"""How right are the text scenarios at a level of the category tree, measured two ways side by side.

- **The product's protocol**, as ``python -m core run S --level 2`` prints it: the merge rule's categories
  (small sub-categories merged into ``other <parent>``), 5-fold CV inside the train split (80 % of the
  listings).
- **The quick check's protocol**, as issue 25 measured its flat baselines (0.905 to 0.927): only the
  listings whose sub-category has at least 5 listings, no ``other`` categories, 5-fold CV over all of them.

Each scenario's own classifier is measured, and beside tfidf_specs the logistic regression it used before
(the same features), so that the change of classifier is a measurement, not a claim.

    .venv/bin/python benchmarks/levels.py [--level 2] [--scenarios tfidf tfidf_specs]

The last line reads ``product_cv P quick_check_cv Q`` for tfidf_specs (issue 25's target: 0.93).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=2)
    parser.add_argument("--scenarios", nargs="+", default=["tfidf", "tfidf_specs"])
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


if __name__ == "__main__":
    main()
