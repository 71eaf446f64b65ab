"""Likely label errors: a held-out model's doubts, ranked by cleanlab."""
import json

import numpy as np
import pandas as pd

from core.cli import main
from core.dataset import load_dataset, main_category
from core.labels.issues import label_issues
from core.scenarios.tfidf import TfidfScenario
from tests.conftest import needs_reference_data


@needs_reference_data
def test_thirty_planted_label_flips_rank_among_the_first_sixty(reference_dataset, tmp_path):
    frame = pd.read_csv(reference_dataset.csv_path, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(7)
    categories = reference_dataset.categories
    flipped = rng.choice(len(frame), 30, replace=False)
    for i in flipped:
        given = main_category(frame.at[i, "product_category_tree"])
        frame.at[i, "product_category_tree"] = f'["{rng.choice([c for c in categories if c != given])} >> Flipped"]'
    folder = tmp_path / "flipped"
    folder.mkdir()
    frame.to_csv(folder / reference_dataset.csv_path.name, index=False)  # no photos: tfidf reads text only
    ranking = label_issues(TfidfScenario(), load_dataset(folder))
    found = set(frame["uniq_id"].iloc[flipped]) & set(ranking["uniq_id"].head(60))
    assert len(found) >= 27, f"{len(found)} of the 30 flipped labels are among the first 60"
    assert ranking["quality"].is_monotonic_increasing and len(ranking) == len(frame)
    assert ranking["is_issue"].head(10).all()


def test_the_command_prints_json_lines_in_rank_order_and_stores_the_ranking(small_data_dir, capsys):
    assert main(["labels", "issues", "--top", "5", "--json"]) == 0
    out = capsys.readouterr()
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert len(rows) == 5 and all(set(row) == {"uniq_id", "given", "suggested", "quality", "is_issue"} for row in rows)
    assert [row["quality"] for row in rows] == sorted(row["quality"] for row in rows)
    assert "label issues; written to" in out.err and out.err.strip().endswith("label-issues.csv")
