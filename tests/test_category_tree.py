"""The category pairs operators hesitate between, for the owners of the category tree."""
from datetime import datetime, timezone

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.dataset import load_dataset
from core.labels.tree import hesitations
from core.locations import REPO_ROOT
from core.review.answer_store import ReviewStore
from core.review.summary import summarise
from core.runs import run_scenario
from core.scenarios.tfidf import TfidfScenario
from core.workspace import Workspace


def test_a_listing_in_doubt_ties_its_label_its_operators_categories_and_the_models_answer(small_data_dir):
    dataset = load_dataset()
    result = run_scenario(TfidfScenario(), dataset, Workspace.from_environment().results_store())
    a, b, c = dataset.categories
    doubtful = dataset.listings[dataset.listings["category"] == a].iloc[0]
    sure = dataset.listings[dataset.listings["category"] == b].iloc[0]
    now = datetime.now(timezone.utc)
    answers = pd.DataFrame([
        {"id": 1, "operator": "ana", "created_at": now, "uniq_id": doubtful["uniq_id"], "label": b, "in_doubt": True},
        {"id": 2, "operator": "bo", "created_at": now, "uniq_id": doubtful["uniq_id"], "label": c, "in_doubt": True},
        {"id": 3, "operator": "ana", "created_at": now, "uniq_id": sure["uniq_id"], "label": c, "in_doubt": False},
    ])
    tree = hesitations(summarise(answers, dataset.listings, result.predictions), answers, result)
    assert sorted(zip(tree.pairs["category_a"], tree.pairs["category_b"])) == [(a, b), (a, c), (b, c)]
    assert (tree.pairs["listings"] == 1).all() and (tree.pairs["examples"] == doubtful["product_name"]).all()
    assert tree.matrix.at[a, b] == tree.matrix.at[b, a] == 1 and tree.matrix.at[a, a] == 0
    assert int(tree.matrix.to_numpy().sum()) == 6  # the sure answer adds no pair


def test_the_review_summary_draws_the_pairs_once_operators_doubt(small_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VITRINE_REVIEW_DB", f"sqlite:///{tmp_path / 'reviews.sqlite'}")
    dataset = load_dataset()
    result = run_scenario(TfidfScenario(), dataset, Workspace.from_environment().results_store())
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "review.py"), default_timeout=60).run()
    assert not any("owners of the category tree" in h.value for h in app.subheader)
    mistake = result.misclassified().iloc[0] if len(result.misclassified()) else result.predictions.iloc[0]
    other = next(c for c in dataset.categories if c not in {mistake["true"], mistake["predicted"]})
    ReviewStore(f"sqlite:///{tmp_path / 'reviews.sqlite'}").save("ana", mistake["uniq_id"], other, True)
    app.run()
    assert not app.exception
    assert any("owners of the category tree" in h.value for h in app.subheader)
    [chart] = app.get("plotly_chart")
    assert '"type":"heatmap"' in chart.proto.spec.replace(" ", "")
    pairs = next(d.value for d in app.dataframe if "model_confusions" in d.value.columns)
    assert len(pairs) >= 1 and other in set(pairs["category_a"]) | set(pairs["category_b"])
