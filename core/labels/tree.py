"""Input for the owners of the category tree: the category pairs operators hesitate between.

A listing the operators decided "revise the category tree" (half or more of their answers in doubt)
ties together its data set label, every category its operators gave and the model's answer; each pair
of those categories counts once for the listing. Beside the operators' count, the scenario's own
confusion of the pair on the test split (both directions), and a few example products.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from core.evaluation import ScenarioResult
from core.hierarchy import tree_path
from core.review.summary import REVISE_TREE, ReviewSummary

EXAMPLES = 3
COVERED = 5  # sub-categories named per category in a queue's first guidelines
TRICKY_PAIRS = 8


@dataclass
class TreeRevision:
    pairs: pd.DataFrame  # category_a, category_b, listings, model_confusions, examples; most hesitated first
    matrix: pd.DataFrame  # categories x categories: listings in doubt between the two (symmetric, zero diagonal)


def hesitations(summary: ReviewSummary, answers: pd.DataFrame, result: ScenarioResult) -> TreeRevision:
    """The pairs of categories behind the listings whose decision is to revise the tree."""
    categories = list(result.classes)
    revise = summary.decisions[summary.decisions["decision"] == REVISE_TREE].set_index("uniq_id")
    latest = answers[answers["uniq_id"].isin(revise.index)].sort_values("id").groupby(["operator", "uniq_id"]).last()
    given = latest.groupby("uniq_id")["label"].agg(set)
    found: dict[tuple[str, str], list[str]] = {}
    for uniq_id, row in revise.iterrows():
        involved = set(given.get(uniq_id, set())) | {row["category"], row["predicted"]}
        for pair in combinations(sorted(c for c in involved if isinstance(c, str)), 2):
            found.setdefault(pair, []).append(str(row["product"]))
    confusion = pd.DataFrame(result.confusion, index=categories, columns=categories)

    def confused(a: str, b: str) -> int:
        return int(confusion.at[a, b] + confusion.at[b, a]) if a in confusion.index and b in confusion.index else 0

    pairs = pd.DataFrame([{"category_a": a, "category_b": b, "listings": len(products),
                           "model_confusions": confused(a, b), "examples": "; ".join(products[:EXAMPLES])}
                          for (a, b), products in found.items()],
                         columns=["category_a", "category_b", "listings", "model_confusions", "examples"])
    pairs = pairs.sort_values(["listings", "model_confusions"], ascending=False, kind="stable").reset_index(drop=True)
    names = sorted(set(categories) | set(pairs["category_a"]) | set(pairs["category_b"]))
    matrix = pd.DataFrame(0, index=names, columns=names)
    for row in pairs.itertuples():
        matrix.at[row.category_a, row.category_b] = matrix.at[row.category_b, row.category_a] = row.listings
    return TreeRevision(pairs, matrix)


def guidelines_seed(listings: pd.DataFrame, categories: list[str], result: ScenarioResult | None,
                    revision: TreeRevision | None = None, covered: int = COVERED, pairs: int = TRICKY_PAIRS) -> str:
    """A first draft of a review queue's guidelines, for a lead to edit: what each category covers (its most
    common second-level categories in ``listings``' ``category_tree``) and the tricky pairs, the model's most
    frequent confusions on the test split (``result``) with the pairs operators hesitated between
    (``revision``: the tree-revision summary), most tricky first."""
    lines = ["What each category covers (its most common sub-categories in the data set):"]
    for category in categories:
        rows = listings[listings["category"] == category]
        below = pd.Series([path[1] for path in map(tree_path, rows["category_tree"]) if len(path) > 1], dtype=object)
        common = ", ".join(below.value_counts().index[:covered]) if len(below) else "no sub-category given"
        lines.append(f"- {category}: {common}")
    tricky: dict[tuple[str, str], list[int]] = {}
    if result is not None:
        confusion = np.asarray(result.confusion)
        for i, j in combinations(range(len(result.classes)), 2):
            if count := int(confusion[i, j] + confusion[j, i]):
                tricky[tuple(sorted((result.classes[i], result.classes[j])))] = [count, 0]
    if revision is not None:
        for row in revision.pairs.itertuples():
            tricky.setdefault((row.category_a, row.category_b), [0, 0])[1] = int(row.listings)
    lines += ["", "Tricky pairs (how often the model confused them on the test split; products operators were "
              "in doubt between them):"]
    ranked = sorted(tricky.items(), key=lambda pair: (-pair[1][1], -pair[1][0], pair[0]))[:pairs]
    lines += [f"- {a} / {b}: {model} model confusion(s), {doubt} product(s) in doubt" for (a, b), (model, doubt)
              in ranked] or ["- none found yet"]
    return "\n".join(lines)
