"""Operator review: re-label doubtful products, say whether you were in doubt; every answer is saved
at once, and the study's summary is computed from all operators' answers. ``main`` at the bottom shows
the page's flow."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.dataset import Dataset
from core.errors import VitrineError
from core.escaping import chart_text, html_text, message_markdown, plain_markdown
from core.evaluation import ScenarioResult
from core.exports import to_csv_text
from core.labels.issues import stored_label_issues
from core.labels.tree import hesitations
from core.leaderboard import best_scenario
from core.review.answer_store import MAX_COMMENT_CHARS, MAX_OPERATOR_CHARS, ReviewStore
from core.review.batches import product_name_of, sent_batches
from core.review.cutoff_feedback import CutoffFeedback, cutoff_feedback
from core.review.export import answers_with_context
from core.review.identity import signed_in_operator
from core.review.name_field import change_name, field_key, name_field, name_refusal, take_name
from core.review.queues import mistakes_title, review_queues
from core.review.standing import operator_pace, operator_queue
from core.review.summary import REVISE_SHARE, decision_rule
from core.wording import progress_text
from pages._shared import (
    dataset_or_stop,
    display_size,
    results_or_stop,
    review_store,
    show_product_name,
    workspace,
)

# The decision first, beside the product it is about: visible without scrolling sideways.
DECISION_ORDER = ["product", "decision", "labels", "doubt_share", "answers", "category", "predicted", "uniq_id"]


def model_answer(item, scenario: str) -> str:
    """The model's answer (and the data set's label, for a reference listing) as a caption."""
    if item["predicted"] is None or item["predicted"] != item["predicted"]:
        return f"Model ({plain_markdown(scenario)}): not classified"
    answer = f"model ({plain_markdown(scenario)}): **{plain_markdown(item['predicted'])}** ({item['confidence']:.0%})"
    if item["true"] is None or item["true"] != item["true"]:
        return answer[0].upper() + answer[1:]
    return f"Data set label: **{plain_markdown(item['true'])}** · {answer}"


def choose(key: str, value: str) -> None:
    """A category button's callback: ``value`` becomes the answer's category."""
    st.session_state[key] = value


def flip(key: str) -> None:
    """The In doubt button's callback: the answer's doubt turns over."""
    st.session_state[key] = not st.session_state.get(key, False)


def answer_keys(uniq_id: str) -> tuple[str, str, str]:
    """Where the session holds the answer being given to a product: its category, doubt and comment."""
    return f"category-{uniq_id}", f"doubt-{uniq_id}", f"comment-{uniq_id}"


def restore(answer) -> None:
    """An undone answer back in its product's category, doubt and comment, to correct and save again."""
    for key, value in zip(answer_keys(answer.uniq_id), (answer.category, answer.in_doubt, answer.comment)):
        st.session_state[key] = value


def team_sign_in() -> bool:
    """Whether the app is set up for a team's sign-in: an [auth] section in .streamlit/secrets.toml."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file: a laptop, where operators type their name
        return False


def open_answers() -> tuple[ReviewStore, pd.DataFrame]:
    """The review store and its active answers; the page stops with the reason when it cannot be read."""
    try:
        store = review_store()
        return store, store.active_frame()
    except VitrineError as exc:
        st.error(message_markdown(exc))
        st.stop()


def operator_ui(column: DeltaGenerator) -> str:
    """The operator answering: the signed-in account where the app is set up for a team (the page stops
    until someone signs in), else the name typed in ``column``; empty while none is given."""
    if team_sign_in():
        # The signed-in account is the operator: nobody answers under another name.
        operator = signed_in_operator(st.user.to_dict()) or ""
        if not st.user.is_logged_in:
            st.info("This review page is set up for your team: sign in, and your answers are saved under your "
                    "account.")
            st.button("Sign in", type="primary", on_click=st.login)
            st.stop()
        if not operator:
            st.error("Your account gave no e-mail or name to save answers under; ask whoever set up the sign-in.")
            st.stop()
        column.text_input("Signed in as", value=operator, disabled=True)
        st.sidebar.button("Sign out", on_click=st.logout)
        return operator
    field = name_field(st.session_state, st.query_params)  # locked once given: core/review/name_field.py
    name_column, change_column = column.columns([5, 2], vertical_alignment="bottom")
    name_column.text_input("Your operator name", key=field.key, max_chars=MAX_OPERATOR_CHARS, disabled=field.locked,
                           on_change=take_name, args=(st.session_state, st.query_params))
    if field.locked:
        change_column.button("Change", on_click=change_name, args=(st.session_state,),
                             help="Answer under another operator name")
    return field.operator


def queue_ui(queue_column: DeltaGenerator, model_column: DeltaGenerator, titles: list[str],
             results: dict[str, ScenarioResult]) -> tuple[str, bool]:
    """The queue chosen (the best scenario's mistakes by default) and whether to show the model's answer."""
    best = mistakes_title(best_scenario(results))
    # Bound to the address like the operator's name: a reload keeps the queue being worked through.
    chosen = queue_column.selectbox("Queue", titles, index=titles.index(best) if best in titles else 0, key="queue",
                                    bind="query-params", help="A scenario's mistakes on the data set, the likely "
                                    "label errors that `python -m core labels issues` found, or the listings a "
                                    "classified batch flagged")
    show_model = model_column.toggle("Model's answer", value=False,
                                     help="Shows the model's answer (and the data set's label). Off by default, so "
                                     "that your answer is your own.")
    return chosen, show_model


def remove_batch_ui(chosen: str) -> None:
    """A button that takes the sent batch ``chosen`` out of review for every operator."""
    with st.popover("Remove this batch from review"):
        st.write("Its flagged listings leave the review page for every operator; the answers already given "
                 "stay in the review store and its exports.")
        if st.button("Remove the batch", type="primary"):
            try:
                removed = next(batch for batch in sent_batches(workspace().batches) if batch.title() == chosen)
                removed.remove()
                st.toast(f"The batch {plain_markdown(removed.name)} left review; its answers are kept.")
                st.rerun()
            except VitrineError as exc:
                st.error(message_markdown(exc))


def listing_ui(listing, item, scenario: str, show_model: bool) -> None:
    """The product under review: its photo beside its name, description and, when asked, the model's answer."""
    photo_column, text_column = st.columns([2, 3])
    with photo_column:
        try:
            photo = listing.photo()
            if photo is None:
                st.info(plain_markdown(listing.no_photo))  # it may quote the seller's photo path
            else:
                st.image(display_size(photo))
        except VitrineError as exc:
            st.warning(message_markdown(exc))
    with text_column:
        show_product_name(listing.name)
        st.html(f'<div style="max-height:320px;overflow:auto">{html_text(listing.description)}</div>')
        if show_model:
            st.caption(model_answer(item, scenario))


def answer_ui(store: ReviewStore, operator: str, uniq_id: str, scenario: str, categories: list[str]) -> None:
    """The answer to one product: its category, doubt and comment, saved or skipped (the page reruns)."""
    # The answer being given lives in the session under this product's keys: a failed save keeps
    # it, and a second click on Save after the page moved on finds no such button.
    category_key, doubt_key, comment_key = answer_keys(uniq_id)
    picked, in_doubt = st.session_state.get(category_key), st.session_state.get(doubt_key, False)
    st.caption(f"Keys: 1 to {min(len(categories), 9)} pick the category, D in doubt, Enter save, "
               "S skip, U undo your last answer. They work while no field has the cursor: after choosing a "
               "queue or typing a comment, click the product first.")
    with st.container(horizontal=True):
        for number, category in enumerate(categories, 1):
            st.button(plain_markdown(category), key=f"pick-{number}-{uniq_id}",
                      shortcut=str(number) if number <= 9 else None,
                      type="primary" if category == picked else "secondary",
                      on_click=choose, args=(category_key, category))
    with st.container(horizontal=True):
        st.button("In doubt", key=f"in-doubt-{uniq_id}", shortcut="D", on_click=flip, args=(doubt_key,),
                  icon=":material/check_box:" if in_doubt else ":material/check_box_outline_blank:")
        skip = st.button("Skip", key=f"skip-{uniq_id}", shortcut="S")
    # A form, so that Enter typed in the comment saves too (elsewhere, Enter is the button's key).
    with st.form(f"answer-{uniq_id}", border=False, enter_to_submit=True):
        comment = st.text_input("Comment (optional)", key=comment_key, max_chars=MAX_COMMENT_CHARS)
        save = st.form_submit_button("Save answer", key=f"save-{uniq_id}", type="primary", shortcut="Enter")
    try:
        if save and picked is None:
            st.warning("Pick a category first.")
        elif save:
            store.save(operator, uniq_id, picked, in_doubt, comment, scenario=scenario, categories=categories)
            st.toast(f"Saved: {plain_markdown(picked)}" + (" (in doubt)" if in_doubt else ""))
            st.rerun()
        elif skip:
            store.skip(operator, uniq_id)
            st.rerun()
    except VitrineError as exc:
        st.error(message_markdown(exc))


def undo_ui(store: ReviewStore, operator: str, skipped_here: set[str], dataset: Dataset) -> None:
    """Undo the operator's last answer (back in its fields), or bring back the products they skipped here."""
    with st.container(horizontal=True):
        undo = st.button("Undo my last answer", shortcut="U")
        back = bool(skipped_here) and st.button(f"Bring back the {len(skipped_here)} product(s) you skipped")
    try:
        if undo:
            undone = store.undo_last(operator)
            if undone is None:
                st.toast("Nothing to undo.")
            else:
                restore(undone)
                # Maybe answered in another queue.
                product = product_name_of(undone.uniq_id, dataset.listings, workspace().batches)
                st.toast(plain_markdown(f"Undone: {undone.category} for {product}"))
            st.rerun()
        if back:
            store.bring_back(operator, skipped_here)
            st.rerun()
    except VitrineError as exc:
        st.error(message_markdown(exc))


def review_tab(store: ReviewStore, answers: pd.DataFrame, operator: str, review, show_model: bool,
               dataset: Dataset) -> None:
    """The Review tab: the operator's progress, their next product and its answer, undo and skipped ones."""
    if not operator:
        typed = st.session_state.get(field_key(st.session_state), "")
        st.info("A name of spaces alone is no name: enter your operator name to start reviewing." if typed else
                "Enter your operator name to start reviewing.")
        return
    if refusal := name_refusal(operator):  # typed, from the address or from the sign-in
        st.error(message_markdown(refusal))
        return
    try:
        skipped = store.skipped(operator)
    except VitrineError as exc:
        st.error(message_markdown(exc))
        st.stop()
    queue = review.items  # mistakes most confident first; label errors least trustworthy first; a batch in order
    standing = operator_queue(queue, answers, operator, skipped)
    pace = operator_pace(answers, operator, standing.left, datetime.now(timezone.utc))
    st.progress(standing.answered / max(standing.total, 1), text=progress_text(standing, pace))
    item = standing.next_item
    if item is None:
        st.success("Nothing left in your queue.")
    else:
        listing_ui(review.listing(item["uniq_id"]), item, review.scenario, show_model)
        answer_ui(store, operator, item["uniq_id"], review.scenario, dataset.categories)
    undo_ui(store, operator, skipped & set(queue["uniq_id"]), dataset)


def show_per_category(summary, is_batch: bool) -> None:
    """Per category: answers, doubt and agreement with the data set and the model."""
    st.subheader("Per category (the operators' category)" if is_batch else "Per category (data set label)")
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


def show_operator_agreement(summary) -> None:
    """How often each pair of operators put the same products in the same category, and Cohen's kappa."""
    st.subheader("Agreement between operators")
    if summary.kappa.empty:
        st.caption("Needs two operators who answered at least two of the same products.")
        return
    # Spelled out in text: the table shows a missing number as "None".
    kappa = ["undefined" if math.isnan(k) else f"{k:.2f}" for k in summary.kappa["kappa"]]
    agreement = summary.kappa.assign(kappa=kappa).style.format({"agreement": "{:.0%}"})
    st.dataframe(agreement, hide_index=True, width="stretch", column_config={
        "operators": "Operators", "items": "Products both answered",
        "agreement": st.column_config.NumberColumn(
            "Same category", help="Share of those products they put in the same category"),
        "kappa": st.column_config.TextColumn(
            "Cohen's kappa", help="Agreement beyond chance: 1 full, 0 chance level; undefined while both "
                                  "gave every product one and the same category")})


def show_decisions(summary, is_batch: bool) -> None:
    """The decision on each product, under the rule that makes it."""
    st.subheader("Decision per product")
    st.caption(f"The rule: {decision_rule(data_set_labels=not is_batch)}.")
    decisions = summary.decisions[[c for c in DECISION_ORDER if c in summary.decisions]]
    st.dataframe(decisions, hide_index=True, width="stretch", column_config={
        "uniq_id": st.column_config.TextColumn("Id", width="small"), "product": "Product",
        "category": "Data set category", "predicted": "Model's answer",
        "answers": "Answers", "labels": "Operators' categories",
        "doubt_share": st.column_config.NumberColumn("In doubt", format="percent",
                                                     help="Share of the answers given in doubt"),
        "decision": st.column_config.TextColumn("Decision", width="large")})


def export_ui(store: ReviewStore, answers: pd.DataFrame, dataset: Dataset,
              results: dict[str, ScenarioResult]) -> None:
    """The answers and their full history as CSV, each answer beside its product's name, data set label
    and the model's answer."""
    # Built when a button is pressed, not on every run of the page: it reads every sent batch's table.
    exports = st.columns(2)
    # No rerun on a download: it changes nothing here, and would drop the file prepared for the other button.
    folder = workspace().batches
    exports[0].download_button("Download answers (CSV)", lambda: to_csv_text(
        answers_with_context(answers, dataset.listings, results, sent_batches(folder))), "answers.csv", "text/csv",
        on_click="ignore")
    exports[1].download_button("Download full history (CSV)", lambda: to_csv_text(
        answers_with_context(store.history(), dataset.listings, results, sent_batches(folder))),
        "answers-history.csv", "text/csv", on_click="ignore")


def show_tree_hesitations(summary, answers: pd.DataFrame, result: ScenarioResult, scenario: str) -> None:
    """For the owners of the category tree: the category pairs operators hesitate between, beside how
    often the model confuses them."""
    st.subheader("For the owners of the category tree")
    tree = hesitations(summary, answers, result)
    if tree.pairs.empty:
        st.caption(f"No product was decided 'revise the category tree' yet ({REVISE_SHARE:.0%} or more of "
                   "its answers in doubt).")
        return
    st.caption("The category pairs operators hesitate between on the products decided 'revise the "
               "category tree': each such product ties its data set label, its operators' categories "
               f"and the model's answer. Beside them, how often {plain_markdown(scenario)} confuses the "
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
    number = st.column_config.NumberColumn
    st.dataframe(tree.pairs, hide_index=True, width="stretch", column_config={
        "category_a": "Category", "category_b": "and category",
        "listings": number("Products in doubt", help="Products decided 'revise the tree' that involve "
                           "both categories"),
        "model_confusions": number("Model confusions (test)", help="Test listings of one the model "
                                   "put in the other, both ways"),
        "examples": "Example products"})
    st.download_button("Download the category pairs (CSV)", to_csv_text(tree.pairs),
                       "category-pairs.csv", "text/csv", on_click="ignore")


def summary_tab(store: ReviewStore, answers: pd.DataFrame, review, dataset: Dataset,
                results: dict[str, ScenarioResult]) -> None:
    """The Summary and export tab: the study's summary of every operator's answers on this queue."""
    mine = answers[answers["uniq_id"].isin(set(review.items["uniq_id"]))] if review.is_batch else answers
    if mine.empty:
        st.info("No answers yet.")
        return
    summary = review.summary(answers)
    show_per_category(summary, review.is_batch)
    show_operator_agreement(summary)
    show_decisions(summary, review.is_batch)
    export_ui(store, answers, dataset, results)
    if review.is_batch:
        show_cutoff_feedback(cutoff_feedback(answers, review.items))
    else:
        show_tree_hesitations(summary, answers, results[review.scenario], review.scenario)


def show_cutoff_feedback(feedback: CutoffFeedback) -> None:
    """What the answers on the flagged listings say of the review cut-off that flagged them."""
    st.subheader("What the answers say of the review cut-off")
    st.caption(plain_markdown(feedback.sentence()))

    def share(value: float) -> str:
        return "" if pd.isna(value) else f"{value:.0%}"
    shown = feedback.bands.assign(model_right=feedback.bands["model_right"].map(share),
                                  right_down_to_here=feedback.bands["right_down_to_here"].map(share))
    text = st.column_config.TextColumn
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "band": "Confidence", "answered": "Answered without doubt",
        "model_right": text("Model right", help="Share of them the model had right"),
        "right_down_to_here": text("Right, from the top down to here",
                                   help="What accepting the flagged listings down to this band would have given")})


def main() -> None:
    """The page: the operator and the queue, then the review of its next product and the summary."""
    st.title("Operator review")
    dataset = dataset_or_stop()
    results = results_or_stop(dataset)
    store, answers = open_answers()
    settings = st.columns([2, 2, 1.4], vertical_alignment="bottom")
    operator = operator_ui(settings[0])
    queues = review_queues(dataset, results, workspace().batches, stored_label_issues(dataset, workspace()))
    chosen, show_model = queue_ui(settings[1], settings[2], list(queues), results)
    try:
        review = queues[chosen]()
    except (VitrineError, OSError) as exc:
        st.error(message_markdown(f"The queue {chosen} cannot be read: {exc}"))
        st.stop()
    if review.is_batch:
        remove_batch_ui(chosen)
    reviewing, summarising = st.tabs(["Review", "Summary and export"])
    with reviewing:
        review_tab(store, answers, operator, review, show_model, dataset)
    with summarising:
        summary_tab(store, answers, review, dataset, results)


main()
