"""Likely label errors: a held-out model's doubts, ranked by cleanlab."""
import json

import numpy as np
import pandas as pd

from core.cli import main
from core.dataset import load_dataset, main_category
from core.labels.issues import label_issues
from core.scenarios.tfidf import TfidfScenario
from tests.conftest import needs_reference_data, operator_field


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
    assert out.err.strip().endswith("label-issues.csv")
    stored = pd.read_csv(out.err.strip().rsplit(" ", 1)[-1])
    in_queue = int((stored["is_issue"] | (stored["suggested"] != stored["given"])).sum())
    # the count said is the queue's, not only cleanlab's issues
    assert f"label issues by cleanlab; {in_queue} (those, and those whose held-out model" in out.err
    assert main(["labels", "issues", "--top", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["uniq_id", "product"]  # a person reads the product's name beside its id
    listing = load_dataset().listings.set_index("uniq_id").loc[table[1].split()[0]]
    assert listing["product_name"][:20] in table[1]


def test_the_review_page_offers_the_likely_label_errors_as_a_queue(small_data_dir, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from core.locations import REPO_ROOT
    from core.review.answer_store import ReviewStore
    from core.runs import run_scenario
    from core.workspace import Workspace

    monkeypatch.setenv("VITRINE_REVIEW_DB", f"sqlite:///{tmp_path / 'reviews.sqlite'}")
    dataset = load_dataset()
    store = Workspace.from_environment().results_store()
    run_scenario(TfidfScenario(), dataset, store)
    first, second, third, fourth = (dataset.listings.iloc[i] for i in (3, 17, 25, 0))
    ranking = pd.DataFrame({
        "uniq_id": [second["uniq_id"], third["uniq_id"], first["uniq_id"], fourth["uniq_id"]],
        "given": [second["category"], third["category"], first["category"], fourth["category"]],
        "suggested": [first["category"], first["category"], second["category"], fourth["category"]],
        "quality": [0.01, 0.015, 0.02, 0.9], "is_issue": [True, False, True, False],
        "suggested_probability": [0.73, 0.55, 0.61, 0.9]})
    store.save_table(TfidfScenario(), dataset.fingerprint, "label-issues", ranking)
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "review.py"), default_timeout=60).run()
    operator_field(app).input("ana").run()
    queue = app.selectbox[0]
    assert "Likely label errors (tfidf)" in queue.options
    queue.select("Likely label errors (tfidf)").run()
    app.toggle[0].set_value(True).run()
    assert not app.exception
    # cleanlab's issues first, then the listing whose held-out model disagrees; not the one it agrees with
    assert "3 products of this queue" in app.get("progress")[0].proto.text
    assert any(f"Data set label: **{second['category']}**" in c.value and f"**{first['category']}** (73%)" in c.value
               for c in app.caption)
    next(b for b in app.button if b.label == first["category"]).click().run()
    next(b for b in app.button if b.label == "Save answer").click().run()
    [answer] = ReviewStore(f"sqlite:///{tmp_path / 'reviews.sqlite'}").active_answers()
    assert (answer.uniq_id, answer.category) == (second["uniq_id"], first["category"])
