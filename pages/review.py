"""Operator review: re-label doubtful products, say whether you were in doubt; every answer is saved
at once, and the study's summary is computed from all operators' answers."""
from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from core.errors import VitrineError
from core.escaping import chart_text, html_text, message_markdown, plain_markdown
from core.exports import to_csv_text
from core.labels.issues import stored_label_issues
from core.labels.tree import hesitations
from core.review.queues import review_queues
from core.review.standing import operator_queue
from core.review.store import MAX_COMMENT_CHARS, MAX_OPERATOR_CHARS
from pages._shared import (
    dataset_or_stop,
    display_size,
    results_or_stop,
    results_store,
    review_store,
    show_product_name,
)

st.title("Operator review")
dataset = dataset_or_stop()
results = results_or_stop(dataset)
try:
    store = review_store()
    answers = store.active_frame()
except VitrineError as exc:
    st.error(message_markdown(exc))
    st.stop()



def model_answer(item, scenario: str) -> str:
    """The model's answer (and the data set's label, for a reference listing) as a caption."""
    if item["predicted"] is None or item["predicted"] != item["predicted"]:
        return f"Model ({plain_markdown(scenario)}): not classified"
    answer = f"model ({plain_markdown(scenario)}): **{plain_markdown(item['predicted'])}** ({item['confidence']:.0%})"
    if item["true"] is None or item["true"] != item["true"]:
        return answer[0].upper() + answer[1:]
    return f"Data set label: **{plain_markdown(item['true'])}** · {answer}"


settings = st.columns([2, 2, 1.4], vertical_alignment="bottom")
operator = settings[0].text_input("Your operator name", key="operator", max_chars=MAX_OPERATOR_CHARS).strip()
queues = review_queues(dataset, results, stored_label_issues(dataset, results_store()))
chosen = settings[1].selectbox("Queue", list(queues),
                               help="A scenario's mistakes on the data set, the likely label errors that "
                               "`python -m core labels issues` found, or the listings a classified batch flagged")
show_model = settings[2].toggle("Show the model's answer", value=False,
                                help="Off by default, so that your answer is your own.")
try:
    review = queues[chosen]()
except (VitrineError, OSError) as exc:
    st.error(message_markdown(f"The queue {chosen} cannot be read: {exc}"))
    st.stop()
name = review.scenario
queue = review.items  # mistakes most confident first; label errors least trustworthy first; a batch in order
skipped: set[str] = st.session_state.setdefault("skipped", set())

review_tab, summary_tab = st.tabs(["Review", "Summary and export"])
with review_tab:
    if not operator:
        st.info("Enter your operator name to start reviewing.")
    else:
        standing = operator_queue(queue, answers, operator, skipped)
        st.progress(standing.answered / max(standing.total, 1),
                    text=f"{standing.answered} of {standing.total} products of this queue answered by you")
        item = standing.next_item
        if item is None:
            st.success("Nothing left in your queue." + (" Skipped items come back after a reload." if skipped else ""))
        else:
            listing = review.listing(item["uniq_id"])
            photo_column, text_column = st.columns([2, 3])
            with photo_column:
                try:
                    photo = listing.photo()
                    if photo is None:
                        st.info("No photo for this listing.")
                    else:
                        st.image(display_size(photo))
                except VitrineError as exc:
                    st.warning(message_markdown(exc))
            with text_column:
                show_product_name(listing.name)
                st.html(f'<div style="max-height:320px;overflow:auto">{html_text(listing.description)}</div>')
                if show_model:
                    st.caption(model_answer(item, name))
            # One form per product, never cleared: a second click on Save before the page is redrawn
            # sends the same answer again (stored once), and a failed save keeps what was chosen.
            with st.form(f"answer-{item['uniq_id']}"):
                label = st.radio("Category", dataset.categories, index=None, horizontal=True,
                                 format_func=plain_markdown)
                in_doubt = st.checkbox("I am in doubt")
                comment = st.text_input("Comment (optional)", max_chars=MAX_COMMENT_CHARS)
                save = st.form_submit_button("Save answer", type="primary")
            if save:
                if label is None:
                    st.warning("Pick a category first.")
                else:
                    try:
                        store.save(operator, item["uniq_id"], label, in_doubt, comment, scenario=name,
                                   categories=dataset.categories)
                        st.toast(f"Saved: {plain_markdown(label)}" + (" (in doubt)" if in_doubt else ""))
                        st.rerun()
                    except VitrineError as exc:
                        st.error(message_markdown(exc))
            buttons = st.columns(2)
            if buttons[0].button("Skip"):
                skipped.add(item["uniq_id"])
                st.rerun()
        if st.button("Undo my last answer"):
            try:
                undone = store.undo_last(operator)
                st.toast(plain_markdown(f"Undone: {undone.label} for {undone.uniq_id}") if undone
                         else "Nothing to undo.")
                st.rerun()
            except VitrineError as exc:
                st.error(message_markdown(exc))

with summary_tab:
    mine = answers[answers["uniq_id"].isin(set(queue["uniq_id"]))] if review.is_batch else answers
    if mine.empty:
        st.info("No answers yet.")
    else:
        summary = review.summary(answers)
        st.subheader("Per category (the operators' category)" if review.is_batch else "Per category (data set label)")
        number = st.column_config.NumberColumn
        shares = [c for c in ("doubt_rate", "agreement_with_dataset", "agreement_with_model")
                  if c in summary.per_category]
        st.dataframe(summary.per_category.style.format(dict.fromkeys(shares, "{:.0%}")),
            hide_index=True, width="stretch", column_config={
                "category": "Category", "answers": "Answers",
                "doubt_rate": number("In doubt", help="Share of answers given in doubt"),
                "agreement_with_dataset": number("Agree with the data set",
                                                 help="Share of answers equal to the data set's category"),
                "agreement_with_model": number("Agree with the model",
                                               help="Share of answers equal to the scenario's prediction")})
        st.subheader("Agreement between operators")
        if summary.kappa.empty:
            st.caption("Needs two operators who answered at least two of the same products.")
        else:
            # Spelled out in text: the table shows a missing number as "None".
            kappa = ["undefined" if math.isnan(k) else f"{k:.2f}" for k in summary.kappa["kappa"]]
            agreement = summary.kappa.assign(kappa=kappa).style.format({"agreement": "{:.0%}"})
            st.dataframe(agreement, hide_index=True, width="stretch", column_config={
                "operators": "Operators", "items": "Products both answered",
                "agreement": number("Same category", help="Share of those products they put in the same category"),
                "kappa": st.column_config.TextColumn(
                    "Cohen's kappa", help="Agreement beyond chance: 1 full, 0 chance level; undefined while both "
                                          "gave every product one and the same category")})
        st.subheader("Decision per product")
        st.dataframe(summary.decisions, hide_index=True, width="stretch", column_config={
            "uniq_id": st.column_config.TextColumn("Id", width="small"), "product": "Product",
            "category": "Data set category", "predicted": "Model's answer",
            "answers": "Answers", "labels": "Operators' categories",
            "doubt_share": number("In doubt", format="percent", help="Share of the answers given in doubt"),
            "decision": "Decision"})
        exports = st.columns(2)
        exports[0].download_button("Download answers (CSV)", to_csv_text(answers), "answers.csv", "text/csv")
        exports[1].download_button("Download full history (CSV)", to_csv_text(store.history()),
                                   "answers-history.csv", "text/csv")

        if not review.is_batch:
            st.subheader("For the owners of the category tree")
            tree = hesitations(summary, answers, results[name])
            if tree.pairs.empty:
                st.caption("No product was decided 'revise the category tree' yet (half or more of its answers "
                           "in doubt).")
            else:
                st.caption("The category pairs operators hesitate between on the products decided 'revise the "
                           "category tree': each such product ties its data set label, its operators' categories "
                           f"and the model's answer. Beside them, how often {plain_markdown(name)} confuses the "
                           "pair on the test split.")
                labels = [chart_text(c) for c in tree.matrix.index]
                figure = go.Figure(go.Heatmap(
                    z=tree.matrix.to_numpy(), x=labels, y=labels, colorscale="Oranges",
                    hovertemplate="%{y} / %{x}<br>%{z} product(s) in doubt<extra></extra>"))
                figure.update_traces(colorbar_title_text="products<br>in doubt")
                figure.update_layout(height=480, yaxis_autorange="reversed", xaxis_title="category",
                                     yaxis_title="category", xaxis_tickangle=-35,
                                     margin=dict(l=10, r=10, t=10, b=10))
                st.plotly_chart(figure, width="stretch", key="tree-hesitations")
                st.dataframe(tree.pairs, hide_index=True, width="stretch", column_config={
                    "category_a": "Category", "category_b": "and category",
                    "listings": number("Products in doubt", help="Products decided 'revise the tree' that involve "
                                       "both categories"),
                    "model_confusions": number("Model confusions (test)", help="Test listings of one the model "
                                               "put in the other, both ways"),
                    "examples": "Example products"})
                st.download_button("Download the category pairs (CSV)", to_csv_text(tree.pairs),
                                   "category-pairs.csv", "text/csv")
