"""Data quality: what the listings look like before any model sees them."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.dataset import Dataset
from core.escaping import plain_markdown
from core.hierarchy import MIN_LISTINGS_AT_LEVEL
from core.quality import DataReport, data_report
from pages._shared import dataset_or_stop


@st.cache_data(show_spinner="Counting CLIP tokens…")
def _report(fingerprint: str, _dataset: Dataset) -> DataReport:
    return data_report(_dataset)


def show_per_category(report: DataReport) -> None:
    """Listings, photos and description lengths (words and CLIP tokens) per category."""
    number = st.column_config.NumberColumn
    st.dataframe(report.per_category.style.format({
        "words_mean": "{:.0f}", "tokens_a_mean": "{:.0f}", "tokens_b_mean": "{:.0f}",
        "share_over_77_a": "{:.0%}", "share_over_77_b": "{:.0%}",
    }), width="stretch", column_config={
        "_index": st.column_config.TextColumn("Category"),
        "listings": number("Listings"),
        "missing_images": number("Without photo", help="Listings whose photo file is missing"),
        "words_mean": number("Words", help="Mean description length in words"),
        "words_max": number("Most words", help="The longest description, in words"),
        "tokens_a_mean": number("Tokens A", help="Mean CLIP tokens of the description as written (model A)"),
        "tokens_b_mean": number("Tokens B", help="Mean CLIP tokens of the description pre-tokenised (model B)"),
        "share_over_77_a": number("Cut short A", help="Share of descriptions CLIP cuts at its 77-token window"),
        "share_over_77_b": number("Cut short B", help="The same for the pre-tokenised text (model B)"),
    })
    st.caption("A: the description as written (model A); B: pre-tokenised with NLTK (model B). CLIP reads "
               "at most 77 tokens; the rest of a description is not seen. Cut short: the share of descriptions "
               "longer than that.")


def show_missing_photos(report: DataReport) -> None:
    """The listings whose photo file is missing, and what the scenarios do with them."""
    if not report.missing_images:
        st.subheader("Every listing has its photo file")
        return
    st.subheader(f"{len(report.missing_images)} listing(s) without a photo file")
    st.write("Image-only scenarios skip them; image + text scenarios read their text alone.")
    st.dataframe(pd.DataFrame({"Photo file named in the CSV": report.missing_images}), hide_index=True)


def show_row_problems(report: DataReport) -> None:
    """The CSV rows left out, or kept with a field blanked, and why."""
    if not report.problems:
        st.subheader("No row problems")
        return
    st.subheader(f"{len(report.problems)} row problem(s)")
    st.caption("Rows of the CSV that were left out, or kept with a field blanked, and why.")
    st.dataframe(pd.DataFrame([vars(p) for p in report.problems]), hide_index=True, width="stretch",
                 column_config={"row": st.column_config.NumberColumn("CSV row", help="Data row, the header not "
                                                                      "counted"),
                                "uniq_id": "Id", "problem": "Problem"})


def show_tree_levels(report: DataReport) -> None:
    """The levels of the category tree below the first: how many categories each has, and what was merged."""
    if not report.levels:
        return
    st.subheader("The category tree below the first level")
    st.write(f"{'; '.join(report.level_counts())}. A sub-category with fewer than {MIN_LISTINGS_AT_LEVEL} "
             "listings (too few to split and cross-validate) is merged into \"other\" under its parent; an "
             "\"other\" still too small is left out at that level.")
    merges = report.merges()
    if not merges.empty:
        st.dataframe(merges, hide_index=True, width="stretch",
                     column_config={"level": st.column_config.NumberColumn("Level", width="small"),
                                    "category": st.column_config.TextColumn("Category", width="medium"),
                                    "listings": st.column_config.NumberColumn("Listings", width="small"),
                                    "what": st.column_config.TextColumn("What this level did", width="large")})


def main() -> None:
    """The page: the data set's listings per category, then what is missing or was left out."""
    st.title("Data quality")
    dataset = dataset_or_stop(usable=False)  # this page shows why listings were left out
    report = _report(dataset.fingerprint, dataset)
    # The file's name only: the server's paths stay private.
    st.caption(f"{report.total} listings from {plain_markdown(dataset.csv_path.name)}")
    show_per_category(report)
    show_missing_photos(report)
    show_row_problems(report)
    show_tree_levels(report)


main()
