"""Data quality: what the listings look like before any model sees them."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.quality import data_report
from pages._shared import dataset_or_stop

st.title("Data quality")
dataset = dataset_or_stop()


@st.cache_data(show_spinner="Counting CLIP tokens…")
def _report(fingerprint: str):
    return data_report(dataset)


report = _report(dataset.fingerprint)
st.caption(f"{report.total} listings from {dataset.csv_path}")
st.dataframe(report.per_category.style.format({
    "words_mean": "{:.0f}", "tokens_a_mean": "{:.0f}", "tokens_b_mean": "{:.0f}",
    "share_over_77_a": "{:.0%}", "share_over_77_b": "{:.0%}",
}), width="stretch")
st.caption("tokens_a / tokens_b: CLIP tokens of the description as written (model A) and pre-tokenised "
           "(model B); share_over_77: descriptions CLIP cuts at its 77-token window.")

st.subheader(f"{len(report.missing_images)} listing(s) without a photo file")
if report.missing_images:
    st.write("Image-only scenarios skip them; image + text scenarios read their text alone.")
    st.dataframe(pd.DataFrame({"image": report.missing_images}), hide_index=True)

st.subheader(f"{len(report.problems)} row problem(s)")
if report.problems:
    st.dataframe(pd.DataFrame([vars(p) for p in report.problems]), hide_index=True, width="stretch")
