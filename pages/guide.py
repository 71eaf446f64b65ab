"""Seller keyword guide: the words that drive each category, with example listings."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import VitrineError
from core.escaping import message_markdown, plain_markdown
from core.explain.keywords import KEYWORDS_TABLE, relevance_keywords, tfidf_coefficient_keywords
from core.exports import read_csv, write_csv
from core.scenarios.registry import all_scenarios
from pages._shared import StreamlitProgress, dataset_or_stop, results_or_stop, results_store, scenario_explainer

st.title("Seller keyword guide")
st.caption("Words that push a listing towards its category: use them in titles and descriptions.")
dataset = dataset_or_stop()
results = results_or_stop(dataset)
choices = [n for n in ("clip_a", "clip_b", "tfidf") if n in results]
if not choices:
    st.info("The guide needs clip_a, clip_b or tfidf: run one on the Results page first.")
    st.stop()
name = st.selectbox("From scenario", choices)
saved = results_store().table_path(all_scenarios()[name], dataset.fingerprint, KEYWORDS_TABLE)


@st.cache_data(show_spinner=False)
def _coefficient_keywords(result_folder: str) -> pd.DataFrame:
    """The tfidf guide from coefficients, once per stored tfidf result (it reads every listing)."""
    return tfidf_coefficient_keywords(scenario_explainer("tfidf", dataset).estimator, dataset.listings, top=10)


table: pd.DataFrame | None = None
if saved.is_file():
    table = read_csv(saved, dtype={"category": str, "word": str}, keep_default_na=False)
    st.caption(f"From the relevance of every listing's words for its own category ({saved.name}).")
elif name == "tfidf":
    table = _coefficient_keywords(str(saved.parent))
    st.caption("From the tfidf model's coefficients (computing word relevance over every listing gives the "
               "same kind of list from the explanations).")
if st.button("Compute from the explanations of every listing" if table is None else "Recompute from explanations"):
    progress = StreamlitProgress("Explaining every listing")
    try:
        table = relevance_keywords(scenario_explainer(name, dataset), progress=progress)
        saved.parent.mkdir(parents=True, exist_ok=True)
        write_csv(table, saved)
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
        st.bar_chart(words.set_index("word")["score"], horizontal=True)
        listings = dataset.listings[dataset.listings["category"] == category]
        top = words["word"].iloc[0] if len(words) else ""
        examples = listings[listings["description"].str.lower().str.contains(top, regex=False)].head(3)
        st.caption(f"Example listings using “{plain_markdown(top)}”:")
        for product in examples["product_name"]:
            st.text(f"• {product}")
