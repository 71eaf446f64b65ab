"""Operator review: re-label doubtful products, say whether you were in doubt; every answer is saved
at once, and the study's summary is computed from all operators' answers. ``main`` at the bottom shows
the page's flow."""
from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
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
from core.hierarchy import SEPARATOR, answerable, cut_path
from core.labels.issues import stored_label_issues
from core.labels.tree import guidelines_seed, hesitations
from core.leaderboard import best_scenario
from core.review.answer_store import MAX_COMMENT_CHARS, MAX_OPERATOR_CHARS, ReviewStore
from core.review.batches import product_name_of, sent_batches
from core.review.cutoff_feedback import CutoffFeedback, cutoff_feedback
from core.review.export import answers_with_context
from core.review.identity import signed_in_operator
from core.review.leads import FIRST_COUNT, LEADS_ENV, MAX_GUIDELINES_CHARS, SHARES, LeadStore, is_lead, share_of
from core.review.name_field import change_name, field_key, name_field, name_refusal, take_name
from core.review.queue_table import SORTS, QueueFilter, answer_history, queue_table, shown_queue
from core.review.queues import ReviewQueue, mistakes_title, review_queues
from core.review.standing import operator_pace, operator_queue
from core.review.summary import REVISE_SHARE, decision_rule
from core.wording import progress_text
from pages._shared import (
    dataset_or_stop,
    display_size,
    lead_store,
    results_or_stop,
    review_store,
    show_product_name,
    workspace,
)

# The decision first, beside the product it is about: visible without scrolling sideways.
DECISION_ORDER = ["product", "decision", "labels", "doubt_share", "answers", "category", "predicted", "uniq_id"]
# The queue list: the answers first (the operators', then the model's), then the product.
LIST_ORDER = ["answered", "latest", "in_doubt", "predicted", "confidence", "true", "product_name", "answered_by",
              "assigned_to", "answers", "uniq_id"]
VIEWS = ["Review", "Queue list", "Summary and export"]
VIEW_KEY = "view"  # the tab shown, kept in the address
OPENED = "product"  # the address's key of the product opened from the list, shown before the queue's order
SHOW_REVIEW = "show_review_tab"  # set when a product was picked in the list: the next run opens the Review tab
TABLE_DRAWN = "queue_table_drawn"  # how many times the list's table was drawn anew, its selection emptied


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


def lead_store_or_stop() -> LeadStore:
    """The queues' assignments and guidelines; the page stops with the reason when they cannot be opened."""
    try:
        return lead_store()
    except VitrineError as exc:
        st.error(message_markdown(exc))
        st.stop()


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


def close_opened() -> None:
    """The product opened from the list is left: the Review tab shows the queue's next product again."""
    st.query_params.pop(OPENED, None)


def opened_item(queue: pd.DataFrame) -> pd.Series | None:
    """The product opened from the queue list, when it is one of ``queue``'s."""
    rows = queue[queue["uniq_id"] == st.query_params.get(OPENED)]
    return None if rows.empty else rows.iloc[0]


def listing_ui(listing, item, scenario: str, show_model: bool, guidelines: Callable[[], None]) -> None:
    """The product under review: its photo beside its name, description, when asked the model's answer, and
    the queue's guidelines."""
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
        guidelines()


def pick_buttons(categories: list[str], labels: list[str], uniq_id: str, key: str, picked: str | None,
                 kind: str, keyed: bool = True) -> None:
    """A row of buttons, one per category (keys 1 to 9 where ``keyed``), the picked one in colour; a click
    puts its category under ``key``."""
    with st.container(horizontal=True):
        for number, (category, label) in enumerate(zip(categories, labels), 1):
            st.button(plain_markdown(label), key=f"{kind}-{number}-{uniq_id}",
                      shortcut=str(number) if keyed and number <= 9 else None,
                      type="primary" if category == picked else "secondary",
                      on_click=choose, args=(key, category))


def choose_parent(parent_key: str, category_key: str, parent: str, unsplit: bool) -> None:
    """A parent's button: the sub-categories to pick from become its; a parent with none is the answer."""
    st.session_state[parent_key] = parent
    picked = st.session_state.get(category_key)
    if unsplit:
        st.session_state[category_key] = parent
    elif picked is not None and not picked.startswith(parent + SEPARATOR):
        st.session_state[category_key] = None


def back_to_parents(parent_key: str, category_key: str) -> None:
    """The "Back to the parents" button: the parent (and the sub-category picked under it) given up."""
    st.session_state[parent_key] = st.session_state[category_key] = None


def tree_pick_ui(categories: list[str], uniq_id: str, category_key: str, picked: str | None) -> None:
    """The two-step pick of a product classified below the first level: its parent (keys 1 to 9), then one
    of that parent's sub-categories (keys 1 to 9 again), or the parent alone when unsure of the rest."""
    parent_key = f"{category_key}-parent"
    parent = st.session_state.get(parent_key) or (cut_path(picked, 1) if picked else None)
    parents = sorted({cut_path(category, 1) for category in categories})
    st.caption(("Keys: 1 to 9 pick the parent, then 1 to 9 its sub-category (B back to the parents)"
                if parent is None else "Keys: 1 to 9 pick the sub-category, B back to the parents") +
               ", D in doubt, Enter save, S skip, U undo your last answer. They work while no field has the "
               "cursor: after typing a comment, click the product first.")
    with st.container(horizontal=True):
        for number, name in enumerate(parents, 1):
            unsplit = not any(c.startswith(name + SEPARATOR) for c in categories)
            st.button(plain_markdown(name), key=f"parent-{number}-{uniq_id}",
                      shortcut=str(number) if parent is None and number <= 9 else None,
                      type="primary" if name == parent else "secondary",
                      on_click=choose_parent, args=(parent_key, category_key, name, unsplit))
    children = [c for c in categories if c.startswith(f"{parent}{SEPARATOR}")] if parent else []
    if children:
        st.caption(f"Under {plain_markdown(parent)}:")
        pick_buttons(children + [parent], [c.rpartition(SEPARATOR)[2] for c in children] + [f"Only {parent}"],
                     uniq_id, category_key, picked, "pick")
        st.button("Back to the parents", key=f"parents-{uniq_id}", shortcut="B",
                  on_click=back_to_parents, args=(parent_key, category_key))


def answer_ui(store: ReviewStore, operator: str, uniq_id: str, scenario: str, categories: list[str]) -> None:
    """The answer to one product: its category, doubt and comment, saved or skipped (the page reruns)."""
    # The answer being given lives in the session under this product's keys: a failed save keeps
    # it, and a second click on Save after the page moved on finds no such button.
    category_key, doubt_key, comment_key = answer_keys(uniq_id)
    picked, in_doubt = st.session_state.get(category_key), st.session_state.get(doubt_key, False)
    if any(SEPARATOR in category for category in categories):
        tree_pick_ui(categories, uniq_id, category_key, picked)
    else:
        st.caption(f"Keys: 1 to {min(len(categories), 9)} pick the category, D in doubt, Enter save, "
                   "S skip, U undo your last answer. They work while no field has the cursor: after choosing a "
                   "queue or typing a comment, click the product first.")
        pick_buttons(categories, categories, uniq_id, category_key, picked, "pick")
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
            close_opened()  # answered: back to the queue's order
            st.rerun()
        elif skip:
            store.skip(operator, uniq_id)
            close_opened()
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


def guidelines_draft(review: ReviewQueue, answers: pd.DataFrame, dataset: Dataset,
                     results: dict[str, ScenarioResult]) -> str:
    """The first guidelines of a queue no lead wrote any for: what each category covers, and the tricky pairs
    (the model's confusions, and the pairs operators hesitated between on this queue's products)."""
    result = results.get(review.scenario)
    revision = None
    answered = answers[answers["uniq_id"].isin(set(review.items["uniq_id"]))]
    if result is not None and not review.is_batch and not answered.empty:
        revision = hesitations(review.summary(answers), answers, result)
    return guidelines_seed(dataset.listings, dataset.categories, result, revision)


def guidelines_ui(leads: LeadStore, title: str, draft: Callable[[], str], editor: str) -> None:
    """The queue's guidelines in an expander: as text, or in a text area to edit and save when ``editor``
    (a lead's name) is given."""
    with st.expander("Guidelines for this queue", icon=":material/menu_book:"):
        try:
            stored = leads.guidelines(title)
        except VitrineError as exc:
            st.error(message_markdown(exc))
            return
        if stored is None:
            st.caption("A first draft from the data set and the model's confusions: no lead saved guidelines for "
                       "this queue yet.")
        else:
            st.caption(f"Written by {plain_markdown(stored.written_by)}, "
                       f"{stored.created_at:%Y-%m-%d %H:%M} UTC.")
        text = stored.text if stored is not None else draft()
        if not editor:
            st.markdown(plain_markdown(text))  # a lead's text, which quotes categories: shown as written
            return
        with st.form(f"guidelines-{short_key(title)}", border=False):
            edited = st.text_area("Guidelines (every operator of this queue sees them)", value=text, height=260,
                                  max_chars=MAX_GUIDELINES_CHARS)
            if st.form_submit_button("Save the guidelines"):
                try:
                    leads.save_guidelines(title, edited, editor)
                    st.toast("Guidelines saved.")
                    st.rerun()
                except VitrineError as exc:
                    st.error(message_markdown(exc))


def history_ui(store: ReviewStore, uniq_id: str) -> None:
    """Every answer ever saved for the product, newest first, undone ones included."""
    try:
        history = answer_history(store.history(), uniq_id)
    except VitrineError as exc:
        st.error(message_markdown(exc))
        return
    with st.expander(f"Answer history of this product ({len(history)})", icon=":material/history:"):
        if history.empty:
            st.caption("No answer saved for this product yet.")
            return
        st.dataframe(history, hide_index=True, width="stretch", column_config={
            "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm", width="small"),
            "operator": st.column_config.TextColumn("Operator", width="small"),
            "category": st.column_config.TextColumn("Category", width="medium"),
            "in_doubt": st.column_config.CheckboxColumn("In doubt", width="small"),
            "comment": st.column_config.TextColumn("Comment", width="medium"),
            "undone": st.column_config.CheckboxColumn("Undone", width="small",
                                                      help="Cancelled since by its operator's undo")})


def review_tab(store: ReviewStore, answers: pd.DataFrame, operator: str, review, show_model: bool,
               dataset: Dataset, assigned: dict[str, str], guidelines: Callable[[], None]) -> None:
    """The Review tab: the operator's progress, their next product (or the one opened from the list) and
    its answer and history, undo and skipped ones."""
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
    standing = operator_queue(queue, answers, operator, skipped, assigned)
    pace = operator_pace(answers, operator, standing.left, datetime.now(timezone.utc))
    st.progress(standing.answered / max(standing.total, 1), text=progress_text(standing, pace))
    if standing.share_left:
        st.caption(f"{standing.share_left} product(s) assigned to you are left: they come first.")
    item = opened_item(queue)
    if item is not None:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption("Opened from the queue list.")
            st.button("Back to the queue's order", on_click=close_opened)
    else:
        item = standing.next_item
    if item is None:
        st.success("Nothing left in your queue.")
    else:
        listing_ui(review.listing(item["uniq_id"]), item, review.scenario, show_model, guidelines)
        # A batch classified below the first level is answered with paths, parent first.
        categories = answerable(dataset.listings, queue.get("predicted", []))
        answer_ui(store, operator, item["uniq_id"], review.scenario, categories)
        history_ui(store, item["uniq_id"])
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
    # Widths that add up to the 1,240 px a 1400 px window gives the page: the last column is not cut off.
    st.dataframe(decisions, hide_index=True, width="stretch", column_config={
        "uniq_id": st.column_config.TextColumn("Id", width=150),  # a batch's: batch:<id>:<row>:<its id>
        "product": st.column_config.TextColumn("Product", width=200),
        "category": st.column_config.TextColumn("Data set category", width=140),
        "predicted": st.column_config.TextColumn("Model's answer", width=140),
        "answers": st.column_config.NumberColumn("Answers", width=70),
        "labels": st.column_config.TextColumn("Operators' categories", width=170),
        "doubt_share": st.column_config.NumberColumn("In doubt", format="percent", width=80,
                                                     help="Share of the answers given in doubt"),
        "decision": st.column_config.TextColumn("Decision", width=250)})


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


def short_key(title: str) -> str:
    """A widget key's part for a queue: its widgets are new ones on another queue, with no stale choice."""
    return hashlib.sha256(title.encode()).hexdigest()[:10]


def list_filters(table: pd.DataFrame, key: str, is_batch: bool, show_model: bool) -> QueueFilter:
    """The list's filters and sort, as chosen above it, one after another (none left as a gap); the model's
    answer and the data set's category only with the Model's answer switch on, as in the Review tab."""
    slots = iter(st.columns(3) + st.columns(3))
    categories = next(slots).multiselect(
        "Data set category", sorted(table["true"].dropna().unique()), key=f"list-category-{key}") \
        if show_model and not is_batch else []
    model = next(slots).multiselect("Model's answer", sorted(table["predicted"].dropna().unique()),
                                    key=f"list-model-{key}") if show_model else []
    answered = next(slots).selectbox("Answered", ["all", "answered", "not answered"], key=f"list-answered-{key}")
    names = sorted({n for names in table["answered_by"] for n in names.split(", ") if n} | set(table["assigned_to"])
                   - {""})
    operator = next(slots).selectbox("Operator (answered or assigned)", ["anyone", *names],
                                     key=f"list-operator-{key}")
    doubt = next(slots).selectbox("In doubt", ["all", "in doubt", "not in doubt"], key=f"list-doubt-{key}")
    sort = next(slots).selectbox("Sort by", list(SORTS), key=f"list-sort-{key}")
    return QueueFilter(categories, model, None if answered == "all" else answered == "answered",
                       None if doubt == "all" else doubt == "in doubt", "" if operator == "anyone" else operator, sort)


def list_tab(answers: pd.DataFrame, review: ReviewQueue, title: str, leads: LeadStore, assigned: dict[str, str],
             operator: str, show_model: bool) -> None:
    """The Queue list tab: every product of the queue in a table to filter and sort; a row picked opens it in
    the Review tab; a lead hands the products listed, or a part of them, to an operator."""
    key = short_key(title)
    table = queue_table(review.items, answers, assigned)
    shown = shown_queue(table, list_filters(table, key, review.is_batch, show_model))
    st.caption(f"{len(shown)} of {len(table)} product(s) listed. Pick a row to open its product in the Review "
               "tab." + ("" if show_model else " The model's answer and the data set's category show with the "
                                              "Model's answer switch, as in the Review tab."))
    hidden = set() if show_model else {"predicted", "confidence", "true"}
    text, number, check = st.column_config.TextColumn, st.column_config.NumberColumn, st.column_config.CheckboxColumn
    picked = st.dataframe(
        shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key=f"queue-table-{key}-{st.session_state.get(TABLE_DRAWN, 0)}",
        column_order=[c for c in LIST_ORDER if c not in hidden and (c != "true" or not review.is_batch)],
        column_config={
            "answered": check("Answered", width="small"),
            "latest": text("Latest answer", width="small", help="The category of the latest answer in force"),
            "in_doubt": check("In doubt", width="small", help="At least one answer in force was given in doubt"),
            "predicted": text("Model's answer", width="medium"),
            "confidence": number("Confidence", format="percent", width="small"),
            "true": text("Data set category", width="small"),
            "product_name": text("Product", width="medium"),
            "answered_by": text("Answered by", width="small"),
            "assigned_to": text("Assigned to", width="small"),
            "answers": number("Answers", width="small"), "uniq_id": text("Id", width="medium")})
    if picked.selection.rows:
        st.query_params[OPENED] = shown["uniq_id"].iloc[picked.selection.rows[0]]
        # A new table next time, its selection empty: a picked row is a jump, not a state the list keeps.
        st.session_state[TABLE_DRAWN] = st.session_state.get(TABLE_DRAWN, 0) + 1
        st.session_state[SHOW_REVIEW] = True
        st.rerun()
    assign_ui(leads, title, list(shown["uniq_id"]), operator)


def assign_ui(leads: LeadStore, title: str, listed: list[str], operator: str) -> None:
    """A lead gives the products listed (all, a half, or the first few) to an operator, or takes them back."""
    with st.expander("Assign products to an operator", icon=":material/group:"):
        if not operator:
            st.caption("Enter your operator name to assign products.")
            return
        if not is_lead(operator, os.environ.get(LEADS_ENV)):
            st.caption(f"Only the leads named in `{LEADS_ENV}` assign products and edit the guidelines.")
            return
        st.caption("Each operator sees the products assigned to them first, then those assigned to nobody, then "
                   "the others'. A product assigned again goes to its new operator.")
        name = st.text_input("Operator to assign to", max_chars=MAX_OPERATOR_CHARS, key=f"assign-to-{short_key(title)}")
        part = st.radio(f"Which of the {len(listed)} product(s) listed", SHARES, horizontal=True,
                        key=f"assign-part-{short_key(title)}")
        count = st.number_input("How many (the first ...)", min_value=1, max_value=max(len(listed), 1),
                                value=min(10, max(len(listed), 1)), disabled=part != FIRST_COUNT,
                                key=f"assign-count-{short_key(title)}")
        chosen = share_of(listed, part, int(count))
        with st.container(horizontal=True):
            give = st.button("Assign", type="primary", disabled=not chosen)
            take = st.button("Take them off their operator", disabled=not chosen)
        try:
            if give and not name.strip():
                st.warning("Name the operator to assign them to.")
            elif give:
                done = leads.assign(title, chosen, name, operator)
                st.toast(f"{done} product(s) assigned to {plain_markdown(name.strip())}.")
                st.rerun()
            elif take:
                done = leads.assign(title, chosen, "", operator)
                st.toast(f"{done} product(s) assigned to nobody now.")
                st.rerun()
        except VitrineError as exc:
            st.error(message_markdown(exc))


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
    leads = lead_store_or_stop()
    try:
        assigned = leads.assigned(chosen)
    except VitrineError as exc:
        st.error(message_markdown(exc))
        st.stop()
    if st.session_state.pop(SHOW_REVIEW, False):  # a product was picked in the list
        st.session_state[VIEW_KEY] = VIEWS[0]
    reviewing, listing, summarising = st.tabs(VIEWS, key=VIEW_KEY, bind="query-params")
    with listing:  # before the Review tab's content: a row picked there is the product shown
        list_tab(answers, review, chosen, leads, assigned, operator, show_model)
    editor = operator if operator and is_lead(operator, os.environ.get(LEADS_ENV)) else ""

    def guidelines() -> None:
        guidelines_ui(leads, chosen, lambda: guidelines_draft(review, answers, dataset, results), editor)
    with reviewing:
        review_tab(store, answers, operator, review, show_model, dataset, assigned, guidelines)
    with summarising:
        summary_tab(store, answers, review, dataset, results)


main()
