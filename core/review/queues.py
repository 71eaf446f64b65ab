"""The queues an operator can review: a scenario's mistakes on the reference listings, its likely label
errors over the whole data set (``labels issues``), or the listings a classified batch flagged. Each
gives its items in review order and what to show of one."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PIL import Image

from core.dataset import Dataset, listing_photo
from core.evaluation import ScenarioResult
from core.review.batches import SentBatch, is_batch_key, sent_batches
from core.review.summary import ReviewSummary, summarise, summarise_batch
from core.wording import clause

ITEM_COLUMNS = ["uniq_id", "product_name", "true", "predicted", "confidence"]


@dataclass(frozen=True)
class QueueListing:
    """What the review page shows of one item: its name, description and photo (decoded on demand;
    ``photo()`` raises ImageError when the file cannot be read), and what to say when it has none."""

    name: str
    description: str
    photo: Callable[[], Image.Image | None]
    no_photo: str = "No photo for this listing."


@dataclass
class ReviewQueue:
    """One queue: its title in the picker, the scenario its answers are saved under, its items (one row
    per listing: uniq_id, the key answers are saved with; product_name; true, the data set's label or None;
    predicted; confidence) and how to show one of them."""

    title: str
    scenario: str
    items: pd.DataFrame
    listing: Callable[[str], QueueListing]
    summary: Callable[[pd.DataFrame], ReviewSummary]
    is_batch: bool = False


def mistakes_title(scenario: str) -> str:
    """The title of the queue of ``scenario``'s test-split mistakes."""
    return f"Test-split mistakes of {scenario}"


def label_errors_title(scenario: str) -> str:
    """The title of the queue of the likely label errors ranked under ``scenario``."""
    return f"Likely label errors ({scenario})"


def _reference_queue(title: str, name: str, items: pd.DataFrame, predictions: pd.DataFrame,
                     dataset: Dataset) -> ReviewQueue:
    """A queue of reference listings, shown from the data set, summarised against ``predictions`` (uniq_id,
    predicted): the model answers the queue shows."""
    def listing(uniq_id: str) -> QueueListing:
        row = dataset.listing(uniq_id)
        return QueueListing(row["product_name"], row["description"], lambda: listing_photo(row))

    def summary(answers: pd.DataFrame) -> ReviewSummary:
        reference = answers[~answers["uniq_id"].map(is_batch_key)]  # batch answers have their own queues
        return summarise(reference, dataset.listings, predictions)

    names = dataset.listings.drop_duplicates("uniq_id").set_index("uniq_id")["product_name"]
    items = items.assign(product_name=items["uniq_id"].map(names))
    return ReviewQueue(title, name, items[ITEM_COLUMNS].reset_index(drop=True), listing, summary)


def mistakes_queue(name: str, result: ScenarioResult, dataset: Dataset) -> ReviewQueue:
    """The scenario's wrong answers on the test split, most confident first: listings it never learnt from
    (its train-split mistakes are in-sample; the likely label errors queue reviews the whole data set)."""
    wrong = result.misclassified()
    return _reference_queue(mistakes_title(name), name, wrong[wrong["split"] == "test"], result.predictions, dataset)


def label_errors_queue(name: str, issues: pd.DataFrame, dataset: Dataset) -> ReviewQueue:
    """The likely label errors of ``labels issues``, least trustworthy label first: those cleanlab counts as
    issues, then the other listings whose held-out model prefers another label. The model's answer is
    that held-out one (``suggested``, with its probability), never the model that learnt the listing."""
    known = issues["uniq_id"].isin(set(dataset.listings["uniq_id"]))
    flagged = issues[disputed(issues) & known].sort_values("is_issue", ascending=False, kind="stable")
    confidence = flagged["suggested_probability"] if "suggested_probability" in flagged else float("nan")
    items = pd.DataFrame({"uniq_id": flagged["uniq_id"], "true": flagged["given"], "predicted": flagged["suggested"],
                          "confidence": confidence})
    held_out = issues[["uniq_id", "suggested"]].rename(columns={"suggested": "predicted"})
    return _reference_queue(label_errors_title(name), name, items, held_out, dataset)


def batch_queue(batch: SentBatch) -> ReviewQueue:
    """A sent batch's flagged listings, in input order, shown from the batch's own folder."""
    table = batch.table()
    by_key = table.set_index("key")

    def listing(key: str) -> QueueListing:
        row = by_key.loc[key]
        problem = row.get("photo_problem")  # batches sent before it was kept have no such column
        no_photo = f"The seller's photo could not be used: {clause(problem)}." if isinstance(problem, str) and \
            problem else QueueListing.no_photo
        return QueueListing(row["product_name"], row["description"], lambda: batch.photo(row["photo"]), no_photo)

    items = pd.DataFrame({"uniq_id": table["key"], "product_name": table["product_name"], "true": None,
                          "predicted": table["predicted"], "confidence": table["confidence"]})
    return ReviewQueue(batch.title(), batch.scenario, items, listing,
                       lambda answers: summarise_batch(answers, table), is_batch=True)


def review_queues(dataset: Dataset, results: dict[str, ScenarioResult], batches: Path,
                  label_issues: dict[str, pd.DataFrame] | None = None) -> dict[str, Callable[[], ReviewQueue]]:
    """Every queue there is, by its title, built when chosen: each stored result's mistakes, each stored
    ranking of likely label errors (``label_issues`` by scenario), then each batch sent to the batches
    folder ``batches``, newest first."""
    queues: dict[str, Callable[[], ReviewQueue]] = {
        mistakes_title(name): (lambda name=name, result=result: mistakes_queue(name, result, dataset))
        for name, result in results.items()}
    for name, issues in (label_issues or {}).items():
        if name in results:
            queues[label_errors_title(name)] = (lambda name=name, issues=issues:
                                                label_errors_queue(name, issues, dataset))
    for batch in sent_batches(batches):
        queues[batch.title()] = lambda batch=batch: batch_queue(batch)
    return queues


def disputed(table: pd.DataFrame) -> pd.Series:
    """Which listings of a ``label_issues`` table operators should see: those cleanlab counts as issues, and
    those whose held-out model prefers another label than the given one."""
    return table["is_issue"].astype(bool) | (table["suggested"] != table["given"])
