"""Input for the owners of the category tree: the category pairs operators hesitate between.

A listing the operators decided "revise the category tree" (half or more of their answers in doubt)
ties together its data set label, every category its operators gave and the model's answer; each pair
of those categories counts once for the listing. Beside the operators' count, the scenario's own
confusion of the pair on the test split (both directions), and a few example products.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from core.evaluation import ScenarioResult
from core.review.summary import REVISE_TREE, ReviewSummary

EXAMPLES = 3


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
