"""Seller keyword guide: the words that drive each category, with example listings."""
from __future__ import annotations

from itertools import groupby

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.actions.explain import relevance_keywords
from core.dataset import Dataset
from core.escaping import chart_text, plain_markdown
from core.explain.keywords import KEYWORDS_TABLE, tfidf_coefficient_keywords
from core.hierarchy import SEPARATOR, at_level, parent_of
from core.scenarios.registry import all_scenarios, scenario_named
from pages._shared import (
    as_job,
    best_index,
    dataset_or_stop,
    results_or_stop,
    results_store,
    scenario_explanations,
    under_way,
    workspace,
)


@st.cache_data(show_spinner=False)
def _coefficient_keywords(result_folder: str, _model, _listings: pd.DataFrame) -> pd.DataFrame:
    """The tfidf guide from coefficients, once per stored tfidf result (it reads every listing)."""
    return tfidf_coefficient_keywords(_model, _listings, top=10)


def keyword_bars(words: pd.DataFrame) -> go.Figure:
    """A category's words as horizontal bars, the strongest on top."""
    ranked = words.sort_values("score", ascending=False)
    figure = go.Figure(go.Bar(x=ranked["score"], y=[chart_text(w) for w in ranked["word"]], orientation="h",
                              marker_color="#0f766e", hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    figure.update_layout(height=60 + 26 * len(ranked), margin=dict(l=10, r=10, t=10, b=10),
                         yaxis=dict(autorange="reversed"), xaxis_title="score")
    return figure


def scenario_ui(scenarios: dict, results: dict) -> str | None:
    """The scenario whose words make the guide (a level of the tree too: its sub-categories' words); None
    (said) when no scenario that explains words has run."""
    with_words = [n for n, s in scenarios.items() if s.explains_words]
    # Below the first level, the guide reads tfidf's coefficients (a sub-category against its siblings).
    choices = [n for n in results if n.split("+")[0] in with_words and ("+level" not in n or n.startswith("tfidf+"))
               and "+topdown" not in n]
    if not choices:
        st.info(f"The guide needs a scenario that explains words ({', '.join(with_words)}): run one on the Results "
                "page first.")
        return None
    return st.selectbox("From scenario", choices, index=best_index(choices, results))


def keywords_table(name: str, scenario, dataset: Dataset) -> pd.DataFrame | None:
    """The stored guide of the scenario, the tfidf one from its coefficients, or one computed on request
    from the explanations of every listing (stored then); None when there is none yet."""
    store = results_store()
    table = store.load_table(scenario, dataset.fingerprint, KEYWORDS_TABLE)
    if table is not None:
        st.caption("From the relevance of every listing's words for its own category.")
    elif name.split("+")[0] == "tfidf":
        table = _coefficient_keywords(str(store.folder(scenario, dataset.fingerprint)),
                                      scenario_explanations(name, dataset).estimator, dataset.listings)
        st.caption("From the tfidf model's coefficients (computing word relevance over every listing gives the "
                   "same kind of list from the explanations)" + (", each sub-category's against those of its "
                   "siblings: the words that tell it apart." if scenario.level > 1 else "."))
    key = f"keywords of {name} on {dataset.fingerprint}"
    asked = scenario.level == 1 and st.button("Compute from the explanations of every listing" if table is None
                                              else "Recompute from explanations")
    if asked or under_way(key):  # a computation under way (before a reload, or another visitor's) is followed
        explanations = scenario_explanations(name, dataset)

        def compute(progress):
            found = relevance_keywords(explanations, progress=progress)
            store.save_table(scenario, dataset.fingerprint, KEYWORDS_TABLE, found)
            return found

        if as_job(key, f"Explaining every listing with {name}", compute,
                  f"The guide from {plain_markdown(name)}'s explanations") is not None:
            st.rerun()  # drawn anew from what was stored, its caption with it
    return table


def show_category(category: str, words: pd.DataFrame, listings: pd.DataFrame, key: str = "") -> None:
    """One category's words as bars, and listings that use its strongest word."""
    with st.expander(plain_markdown(f"{category}: {', '.join(words['word'].head(5))}"), expanded=False):
        st.plotly_chart(keyword_bars(words), width="stretch", key=f"keywords-{key or category}")
        top = words["word"].iloc[0] if len(words) else ""
        examples = listings[listings["description"].str.lower().str.contains(top, regex=False)].head(3)
        st.caption(f"Example listings using “{plain_markdown(top)}”:")
        for product in examples["product_name"]:
            st.text(f"• {product}")


def main() -> None:
    """The page: a scenario that explains words, then each category's words."""
    st.title("Seller keyword guide")
    st.caption("Words that push a listing towards its category: use them in titles and descriptions.")
    dataset = dataset_or_stop()
    results = results_or_stop(dataset)
    scenarios = all_scenarios(workspace())
    name = scenario_ui(scenarios, results)
    if name is None:
        return
    scenario = scenario_named(name, workspace())
    table = keywords_table(name, scenario, dataset)
    if table is None:
        st.info("Not computed yet for this scenario: it explains each listing once (cached), which takes a while "
                "with CLIP on a laptop. It can also run in a terminal, and this page then shows its result: "
                f"`python -m core explain keywords --scenario {name}`")
        return
    if scenario.level == 1:
        for category in dataset.categories:
            show_category(category, table[table["category"] == category],
                          dataset.listings[dataset.listings["category"] == category])
        return
    listings = at_level(dataset.listings, scenario.level)[0]
    for parent, paths in groupby(sorted(table["category"].unique(), key=parent_of), key=parent_of):
        st.subheader(plain_markdown(parent), anchor=False)
        for path in paths:
            show_category(path.rpartition(SEPARATOR)[2], table[table["category"] == path],
                          listings[listings["category"] == path], key=path)


main()
