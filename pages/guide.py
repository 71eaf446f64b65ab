"""Seller keyword guide: the words that drive each category, with example listings."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.actions.explain import relevance_keywords
from core.errors import VitrineError
from core.escaping import chart_text, message_markdown, plain_markdown
from core.explain.keywords import KEYWORDS_TABLE, tfidf_coefficient_keywords
from core.scenarios.registry import all_scenarios
from pages._shared import (
    StreamlitProgress,
    best_index,
    dataset_or_stop,
    results_or_stop,
    results_store,
    scenario_explanations,
    workspace,
)

st.title("Seller keyword guide")
st.caption("Words that push a listing towards its category: use them in titles and descriptions.")
dataset = dataset_or_stop()
results = results_or_stop(dataset)
scenarios = all_scenarios(workspace())
with_words = [n for n, s in scenarios.items() if s.explains_words]
choices = [n for n in with_words if n in results]
if not choices:
    st.info(f"The guide needs a scenario that explains words ({', '.join(with_words)}): run one on the Results "
            "page first.")
    st.stop()
name = st.selectbox("From scenario", choices, index=best_index(choices, results))
store = results_store()


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


table = store.load_table(scenarios[name], dataset.fingerprint, KEYWORDS_TABLE)
if table is not None:
    st.caption("From the relevance of every listing's words for its own category.")
elif name == "tfidf":
    table = _coefficient_keywords(str(store.folder(scenarios[name], dataset.fingerprint)),
                                  scenario_explanations("tfidf", dataset).estimator, dataset.listings)
    st.caption("From the tfidf model's coefficients (computing word relevance over every listing gives the "
               "same kind of list from the explanations).")
if st.button("Compute from the explanations of every listing" if table is None else "Recompute from explanations"):
    progress = StreamlitProgress("Explaining every listing")
    try:
        table = relevance_keywords(scenario_explanations(name, dataset), progress=progress)
        store.save_table(scenarios[name], dataset.fingerprint, KEYWORDS_TABLE, table)
    except VitrineError as exc:
        st.error(message_markdown(exc))
    finally:
        progress.close()
if table is None:
    st.info("Not computed yet for this scenario: it explains each listing once (cached), which takes a while "
            "with CLIP on a laptop. It can also run in a terminal, and this page then shows its result: "
            f"`python -m core explain keywords --scenario {name}`")
    st.stop()

for category in dataset.categories:
    words = table[table["category"] == category]
    with st.expander(plain_markdown(f"{category}: {', '.join(words['word'].head(5))}"), expanded=False):
        st.plotly_chart(keyword_bars(words), width="stretch", key=f"keywords-{category}")
        listings = dataset.listings[dataset.listings["category"] == category]
        top = words["word"].iloc[0] if len(words) else ""
        examples = listings[listings["description"].str.lower().str.contains(top, regex=False)].head(3)
        st.caption(f"Example listings using “{plain_markdown(top)}”:")
        for product in examples["product_name"]:
            st.text(f"• {product}")
