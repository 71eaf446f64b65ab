"""Batches over time: every batch the daily job classified (the command line, the Classify page, the service
hour by hour), newest first; the accepted share, the operators' agreement with the model and the batches
unlike the calibration data over time; a batch's agreement per category. ``main`` at the bottom shows the
page's flow."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.errors import VitrineError
from core.escaping import chart_text, message_markdown
from core.review.batch_history import HistoryView, batch_history
from pages._shared import workspace

# The answer first: when, from where, how many, how much was accepted or sent to review, drift, agreement.
FRONT = ["when", "source", "rows", "accepted_share", "review_share", "drift", "agreement", "answers", "scenario",
         "name"]
DRIFT = {True: "unlike", False: "like"}
HOW_BATCHES_APPEAR = (
    "No batch has been classified yet. Each batch classified is recorded here: classify one on the "
    "**Classify a batch** page, from the command line with `python -m core classify FILE`, or through the "
    "service (`python -m core serve`), which records its listings once an hour.")


@st.cache_data(ttl=60, show_spinner=False)
def history(url: str) -> HistoryView:
    """The history, read again at most once a minute (the Refresh button reads it at once)."""
    return batch_history(url)


def history_or_stop() -> HistoryView:
    """The history; the page stops with the reason when it cannot be read."""
    try:
        return history(workspace().review_url)
    except VitrineError as exc:
        st.error(message_markdown(exc))
        st.stop()


def show_table(table: pd.DataFrame) -> None:
    """One row per batch, newest first: the answer first, the details after."""
    # Whole percents, as the captions and the chart write them (67%, not 66.67%).
    shown = table.assign(drift=table["unlike"].map(DRIFT).fillna("not checked"),
                         **{c: table[c] * 100 for c in ("accepted_share", "review_share", "agreement")})
    st.dataframe(shown, hide_index=True, width="stretch", column_order=FRONT + ["ok", "text_only", "not_classified",
                                                                                  "review", "review_batch"],
                 column_config={
        "when": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm", width=140, pinned=True),
        "source": st.column_config.TextColumn("Source", width="small"),
        "rows": st.column_config.NumberColumn("Rows", width="small"),
        "accepted_share": st.column_config.NumberColumn("Accepted", format="%.0f%%", width="small",
                                                        help="Accepted without review"),
        "review_share": st.column_config.NumberColumn("To review", format="%.0f%%", width="small",
                                                      help="Needing review"),
        "drift": st.column_config.TextColumn("Drift", width=90, help="Whether the batch was unlike the "
                                             "listings the review cut-off was calibrated on"),
        "agreement": st.column_config.NumberColumn("Agreement", format="%.0f%%", width="small",
                                                   help="Of the operators' answers on its flagged listings, the share "
                                                   "naming the model's category"),
        "answers": st.column_config.NumberColumn("Answers", width="small"),
        "scenario": st.column_config.TextColumn("Scenario", width="small"),
        "name": st.column_config.TextColumn("Batch", width="medium"),
        "ok": st.column_config.NumberColumn("ok", width="small"),
        "text_only": st.column_config.NumberColumn("text only", width="small"),
        "not_classified": st.column_config.NumberColumn("not classified", width="small"),
        "review": st.column_config.TextColumn("Review cut-off", width="large"),
        "review_batch": st.column_config.TextColumn("Review batch", width="small"),
    })


def trend_chart(table: pd.DataFrame) -> go.Figure:
    """The accepted share and the operators' agreement over time, the batches unlike the calibration data
    marked."""
    ordered = table.sort_values("when")
    names = [chart_text(f"{name} ({source})") for name, source in zip(ordered["name"], ordered["source"])]
    answered = ordered["agreement"].notna()
    unlike = (ordered["unlike"] == True).to_numpy()  # noqa: E712 (None: not checked)
    figure = go.Figure([
        go.Scatter(x=ordered["when"], y=ordered["accepted_share"], mode="lines+markers", name="accepted share",
                   text=names, hovertemplate="%{text}<br>%{x}<br>accepted %{y:.1%}<extra></extra>"),
        go.Scatter(x=ordered["when"][answered], y=ordered["agreement"][answered], mode="lines+markers",
                   name="operators' agreement", text=[n for n, a in zip(names, answered) if a],
                   hovertemplate="%{text}<br>%{x}<br>agreement %{y:.1%}<extra></extra>"),
        go.Scatter(x=ordered["when"][unlike], y=ordered["accepted_share"][unlike], mode="markers",
                   name="unlike the calibration data", marker=dict(symbol="x", size=12, color="#d62728"),
                   text=[n for n, u in zip(names, unlike) if u], hovertemplate="%{text}: unlike<extra></extra>"),
    ])
    figure.update_layout(height=340, margin=dict(l=10, r=10, t=30, b=10), title="Over time",
                         yaxis=dict(range=[0, 1.02], tickformat=".0%"), legend=dict(orientation="h", y=-0.15))
    return figure


def agreement_ui(view: HistoryView) -> None:
    """A batch's agreement per category, for the batch the user picks among those answered."""
    st.subheader("Agreement per category")
    answered = view.table[view.table["id"].isin(view.agreements)]
    if answered.empty:
        st.caption("No batch's flagged listings have been answered yet: send a batch to review (on the Classify "
                   "page, or `classify --to-review`) and answer its listings on the Operator review page.")
        return
    labels = {row.id: f"{row.when:%Y-%m-%d %H:%M} UTC · {row.name} ({row.source})" for row in answered.itertuples()}
    chosen = st.selectbox("Batch", list(labels), format_func=labels.get)
    agreement = view.agreements[chosen]
    st.caption(f"{agreement.answers} answer(s); {agreement.share:.0%} name the model's category. By the "
               "operators' category:")
    st.dataframe(agreement.per_category, hide_index=True, width="stretch", column_config={
        "category": st.column_config.TextColumn("Operators' category", width="medium"),
        "answers": st.column_config.NumberColumn("Answers", width="small"),
        "agreement_with_model": st.column_config.NumberColumn("Agreement with the model", format="percent"),
        "doubt_rate": st.column_config.NumberColumn("In doubt", format="percent"),
    }, column_order=["category", "answers", "agreement_with_model", "doubt_rate"])


def main() -> None:
    """The page: the table of batches, the trend chart, then one batch's agreement per category."""
    st.title("Batches over time")
    st.caption("Every batch classified, newest first: how much of it was accepted without review, whether it was "
               "unlike the listings the review cut-off was calibrated on, and how often operators agreed with the "
               "model on its flagged listings. A falling accepted share or agreement says the model is ageing.")
    if st.button("Refresh", help="Read the history again now (it is read at most once a minute otherwise)"):
        history.clear()
    view = history_or_stop()
    if view.table.empty:
        st.info(HOW_BATCHES_APPEAR)
        return
    show_table(view.table)
    st.plotly_chart(trend_chart(view.table), width="stretch")
    agreement_ui(view)


main()
