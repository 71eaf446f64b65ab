"""Operator review: re-label doubtful products, say whether you were in doubt; every answer is saved
at once, and the study's summary is computed from all operators' answers."""
from __future__ import annotations

import html

import streamlit as st

from core.dataset import listing_photo
from core.images import ImageError
from core.review.store import ReviewStoreError
from core.review.summary import summarise
from pages._shared import dataset_or_stop, display_size, results_or_stop, review_store

st.title("Operator review")
dataset = dataset_or_stop()
results = results_or_stop(dataset)
try:
    store = review_store()
    answers = store.active_frame()
except ReviewStoreError as exc:
    st.error(str(exc))
    st.stop()

settings = st.columns([2, 2, 1])
operator = settings[0].text_input("Your operator name", key="operator").strip()
name = settings[1].selectbox("Queue from scenario", list(results))
show_model = settings[2].toggle("Show the model's answer", value=False)
result = results[name]
queue = result.misclassified()  # most confident wrong answers first: likely label errors
skipped: set[str] = st.session_state.setdefault("skipped", set())

review_tab, summary_tab = st.tabs(["Review", "Summary and export"])
with review_tab:
    if not operator:
        st.info("Enter your operator name to start reviewing.")
    else:
        mine = set(answers.loc[answers["operator"] == operator, "uniq_id"])
        done = len(mine & set(queue["uniq_id"]))
        st.progress(done / max(len(queue), 1), text=f"{done} of {len(queue)} misclassified products answered by you")
        pending = queue[~queue["uniq_id"].isin(mine | skipped)]
        if pending.empty:
            st.success("Nothing left in your queue." + (" Skipped items come back after a reload." if skipped else ""))
        else:
            item = pending.iloc[0]
            listing = dataset.listing(item["uniq_id"])
            photo_column, text_column = st.columns([2, 3])
            with photo_column:
                try:
                    photo = listing_photo(listing)
                    if photo is None:
                        st.info("No photo for this listing.")
                    else:
                        st.image(display_size(photo))
                except ImageError as exc:
                    st.warning(str(exc))
            with text_column:
                st.markdown(f"**{html.escape(listing['product_name'])}**")
                st.html(f'<div style="max-height:320px;overflow:auto">{html.escape(listing["description"])}</div>')
                if show_model:
                    st.caption(f"Data set label: **{item['true']}** · model ({name}): **{item['predicted']}** "
                               f"({item['confidence']:.0%})")
            with st.form(f"answer-{item['uniq_id']}", clear_on_submit=True):
                label = st.radio("Category", dataset.categories, index=None, horizontal=True)
                in_doubt = st.checkbox("I am in doubt")
                comment = st.text_input("Comment (optional)", max_chars=1000)
                save = st.form_submit_button("Save answer", type="primary")
            if save:
                if label is None:
                    st.warning("Pick a category first.")
                else:
                    try:
                        store.save(operator, item["uniq_id"], label, in_doubt, comment, scenario=name)
                        st.toast(f"Saved: {label}" + (" (in doubt)" if in_doubt else ""))
                        st.rerun()
                    except ReviewStoreError as exc:
                        st.error(str(exc))
            buttons = st.columns(2)
            if buttons[0].button("Skip"):
                skipped.add(item["uniq_id"])
                st.rerun()
        if st.button("Undo my last answer"):
            try:
                undone = store.undo_last(operator)
                st.toast(f"Undone: {undone.label} for {undone.uniq_id}" if undone else "Nothing to undo.")
                st.rerun()
            except ReviewStoreError as exc:
                st.error(str(exc))

with summary_tab:
    if answers.empty:
        st.info("No answers yet.")
    else:
        summary = summarise(answers, dataset.listings, result.predictions)
        st.subheader("Per category (data set label)")
        st.dataframe(summary.per_category.style.format({
            "doubt_rate": "{:.0%}", "agreement_with_dataset": "{:.0%}", "agreement_with_model": "{:.0%}"}),
            hide_index=True, width="stretch")
        st.subheader("Agreement between operators (Cohen's kappa)")
        if summary.kappa.empty:
            st.caption("Needs two operators who answered at least two of the same products.")
        else:
            st.dataframe(summary.kappa, hide_index=True, width="stretch")
        st.subheader("Decision per product")
        st.dataframe(summary.decisions, hide_index=True, width="stretch")
        exports = st.columns(2)
        exports[0].download_button("Download answers (CSV)", answers.to_csv(index=False), "answers.csv", "text/csv")
        exports[1].download_button("Download full history (CSV)", store.history().to_csv(index=False),
                                   "answers-history.csv", "text/csv")
