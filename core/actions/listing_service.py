"""The actions behind the HTTP service and the "List a product" page: classify listings as they are put
online, explain one, and advise the seller on a draft.

Classifying goes through the batch job's own ``chunk_columns`` with the scenario's stored classifier and
review cut-off, so a listing gets here exactly the numbers ``classify`` writes for it.
"""
from __future__ import annotations

import base64
import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from core.actions.explain import ScenarioExplanations
from core.calibration import Promise
from core.classify.batch_input import BatchRows
from core.classify.job import TOP, chunk_columns
from core.classify.stored_classifier import StoredClassifier
from core.dataset import Dataset
from core.errors import VitrineError
from core.explain.base import ListingInput
from core.explain.display import photo_with_heatmap, scale_to_unit
from core.explain.keywords import KEYWORDS_TABLE, tfidf_coefficient_keywords
from core.hierarchy import BackOff
from core.images import open_image
from core.review.batch_history import BatchHistory, BatchRecord, PeriodTally
from core.review.batches import SentBatch, send_rows_to_review
from core.scenarios.registry import scenario_named
from core.specifications import specification_text
from core.wording import promise_words
from core.workspace import Workspace

ANSWER_COLUMNS = ["predicted", "confidence", "needs_review", "status", *(f"top_{k}" for k in range(1, TOP + 1))]
GUIDE_WORDS = 10  # the guide's words per category the advice looks for
PULLING_WORDS = 5
HEATMAP_SIDE = 256  # the PNG overlay's longer side
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listing:
    """One listing as a request gives it: an id, a title and a description, optional specifications
    (as the marketplace exports them) and an optional photo (its bytes)."""

    id: str
    name: str = ""
    description: str = ""
    specifications: str = ""
    photo: bytes | None = None


@dataclass
class Classified:
    """What ``classify`` writes for a listing, as plain values."""

    id: str
    predicted: str | None
    confidence: float | None
    top: list[dict]  # [{"category": …, "probability": …}, …], best first
    needs_review: bool
    status: str
    # Below the first level of the tree: the level it is filed at (0: review) and its confidence at each level.
    accepted_level: int | None = None
    level_confidences: list[float] | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "predicted": self.predicted, "confidence": self.confidence, "top": self.top,
                "needs_review": self.needs_review, "status": self.status, "accepted_level": self.accepted_level,
                "level_confidences": self.level_confidences}


@dataclass
class Advice:
    """Advice to a seller on a draft listing, as fields and as plain sentences."""

    predicted: str | None
    confidence: float | None
    chosen: str | None
    agrees: bool | None
    missing_words: list[str] = field(default_factory=list)
    pulling_words: list[str] = field(default_factory=list)
    photo_says: str | None = None
    text_says: str | None = None
    sentences: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(vars(self))


class ListingService:
    """One scenario's stored classifier, its review cut-off and its explanations, loaded once for many
    requests."""

    def __init__(self, workspace: Workspace, dataset: Dataset, scenario_name: str, promise: Promise = Promise(),
                 device: str = "cpu"):
        self.classifier = StoredClassifier.load(scenario_named(scenario_name, workspace), dataset, promise,
                                                workspace.results_store())
        self.scenario = self.classifier.scenario.on_device(device)
        self.device = device
        self.estimator = self.classifier.fitted.estimator
        self.classes = [str(c) for c in self.estimator.classes_]
        self.dataset = dataset
        self.workspace = workspace
        self._explanations: ScenarioExplanations | None = None
        self._guide: pd.DataFrame | None = None

    @cached_property
    def promise(self) -> str:
        """The review cut-off's promise in words, or that no cut-off could be shown to keep it (then every
        listing needs review)."""
        threshold = self.classifier.threshold
        levels = threshold.cutoffs if isinstance(threshold, BackOff) else [threshold]
        if any(level.accepts_any() for level in levels):
            return promise_words(levels[-1])
        return (f"{promise_words(levels[-1])}: no cut-off could be shown to keep it on this data, so every listing "
                "needs review")

    def classify(self, listings: Sequence[Listing]) -> list[Classified]:
        """Each listing classified as ``classify`` would classify it in a batch: the same model, the same
        cut-off, the same statuses."""
        photos = [self._photo(listing) for listing in listings]
        rows = _rows(listings)
        texts = self.scenario.texts_ahead(rows.descriptions)
        columns = chunk_columns(rows, photos, self.scenario, self.estimator, self.classes,
                                self.classifier.threshold, None, texts)
        # The rows straight from the columns, as Python values (``tolist``), as a frame's records would give them.
        values = [column.tolist() if isinstance(column, np.ndarray) else column for column in columns.values()]
        return [_classified(dict(zip(columns, row))) for row in zip(*values)]

    def send_to_review(self, listings: Sequence[Listing], results: Sequence[Classified], name: str) -> SentBatch:
        """The flagged ones of ``listings`` (classified as ``results``) sent to the operators' review queue as
        one batch called ``name``, as ``classify --to-review`` sends a file's."""
        answers = pd.DataFrame([{"predicted": r.predicted,
                                 "confidence": np.nan if r.confidence is None else r.confidence,
                                 "needs_review": r.needs_review, "status": r.status,
                                 **{f"top_{k}": top["category"] for k, top in enumerate(r.top, start=1)}}
                                for r in results], columns=ANSWER_COLUMNS)
        return send_rows_to_review(self.workspace.batches, _rows(listings, photos=True), answers,
                                   self.scenario.name, name)

    def _photo(self, listing: Listing):
        """The decoded photo, a sentence saying why it cannot be used, or None without one (the batch job's
        convention for a row's photo)."""
        if listing.photo is None or not self.scenario.reads_photo:
            return None
        try:
            return open_image(listing.photo)
        except VitrineError as exc:
            return str(exc)

    def explanations(self) -> ScenarioExplanations:
        """The explain action for this scenario, built on first use."""
        if self._explanations is None:
            self._explanations = ScenarioExplanations(self.scenario, self.dataset, self.workspace)
        return self._explanations

    def explain(self, listing: Listing, target: str | None = None) -> dict:
        """Why the listing gets its category (or ``target``): each word with its relevance and, for a
        scenario that reads photos, the photo's relevance as a small grid and as a PNG overlay (base64)."""
        photo = self._photo(listing)
        if isinstance(photo, str):
            raise VitrineError(photo)
        explanation = self.explanations().explain_listing(
            ListingInput(photo, listing.name, listing.description, specification_text(listing.specifications or "")),
            target)
        found = {"target": explanation.target, "predicted": explanation.predicted,
                 "probabilities": explanation.probabilities,
                 "words": [{"word": w.word, "relevance": float(w.score), "start": w.start, "end": w.end,
                            "seen": bool(w.seen)} for w in explanation.words],
                 "notes": list(explanation.notes), "heatmap": None, "overlay_png": None}
        if explanation.photo_grid is not None and photo is not None:
            grid = np.asarray(explanation.photo_grid, dtype=float)
            found["heatmap"] = np.round(scale_to_unit(grid), 4).tolist()  # over the squared photo the model saw
            png = io.BytesIO()
            photo_with_heatmap(photo, grid, HEATMAP_SIDE).save(png, format="PNG")
            found["overlay_png"] = base64.b64encode(png.getvalue()).decode("ascii")
        return found

    def guide(self) -> pd.DataFrame:
        """The seller guide's words per category (category, word, score): the stored table, else the
        tfidf coefficients, else none."""
        if self._guide is None:
            store = self.workspace.results_store()
            table = store.load_table(self.scenario, self.dataset.fingerprint, KEYWORDS_TABLE)
            if table is None and self.scenario.name == "tfidf":
                table = tfidf_coefficient_keywords(self.estimator, self.dataset.listings, top=GUIDE_WORDS)
            self._guide = table if table is not None else pd.DataFrame(columns=["category", "word", "score"])
        return self._guide

    def advise(self, listing: Listing, chosen: str | None = None) -> Advice:
        """Advice on a seller's draft: the category Vitrine would give it and how sure; whether it agrees
        with the seller's ``chosen`` category; the guide's words for that category the text lacks; the
        words pulling the listing elsewhere; for scenarios that read both, whether photo and text agree."""
        if chosen is not None and chosen not in self.classes:
            raise VitrineError(f"There is no category {chosen!r}; the categories are: {', '.join(self.classes)}.")
        [result] = self.classify([listing])
        advice = Advice(result.predicted, result.confidence, chosen,
                        None if chosen is None or result.predicted is None else chosen == result.predicted)
        if result.predicted is None:
            advice.sentences.append("Add a title or a description: there is nothing to classify yet.")
            return advice
        advice.sentences.append(f"This listing reads as {result.predicted} ({result.confidence:.0%} sure).")
        wanted = chosen or result.predicted
        text = f" {listing.name} {listing.description} ".lower()
        guide = self.guide()
        advice.missing_words = [w for w in guide.loc[guide["category"] == wanted, "word"].head(GUIDE_WORDS)
                                if f" {str(w).lower()} " not in text]
        if advice.agrees is False:
            advice.sentences.append(f"You chose {chosen}, but Vitrine would file it under {result.predicted}.")
            if self.scenario.explains_words:
                pulling = self.explain(listing, result.predicted)["words"]
                ranked = sorted((w for w in pulling if w["seen"] and w["relevance"] > 0
                                 and w["word"].lower() not in ENGLISH_STOP_WORDS), key=lambda w: -w["relevance"])
                advice.pulling_words = list(dict.fromkeys(w["word"].lower() for w in ranked))[:PULLING_WORDS]
                if advice.pulling_words:
                    advice.sentences.append(f"Words pulling it toward {result.predicted}: "
                                            f"{', '.join(advice.pulling_words)}.")
        elif advice.agrees:
            advice.sentences.append(f"Vitrine agrees with your category, {chosen}.")
        if advice.missing_words:
            advice.sentences.append(f"Listings in {wanted} often use words your text lacks (if they fit your product): "
                                    f"{', '.join(advice.missing_words[:5])}.")
        if self.scenario.reads_photo and self.scenario.reads_text and listing.photo is not None:
            photo_only = self.classify([Listing(listing.id, photo=listing.photo)])[0]
            text_only = self.classify([Listing(listing.id, listing.name, listing.description,
                                               listing.specifications)])[0]
            advice.photo_says, advice.text_says = photo_only.predicted, text_only.predicted
            if photo_only.predicted and text_only.predicted and photo_only.predicted != text_only.predicted:
                advice.sentences.append(f"The photo looks like {photo_only.predicted}, the text reads as "
                                        f"{text_only.predicted}: check that they show the same product.")
        if result.needs_review:
            advice.sentences.append("An operator will check the category before the listing goes online.")
        return advice


class ServiceHistory:
    """The listings a service classifies, recorded in the workspace's batch history as one batch per UTC hour
    (``PeriodTally``), never one per request: counting a request's listings is a few additions, and an hour's
    record is written on a thread of its own, so no request waits for the database."""

    def __init__(self, service: ListingService):
        self.url = service.workspace.review_url
        self.tally = PeriodTally(service.scenario.name, service.classifier.review, service.classifier.reference,
                                 self._write_later)
        self._writers: list[threading.Thread] = []

    def add(self, results: Sequence[Classified]) -> None:
        """Count the listings of a model call."""
        self.tally.add(results)

    def close(self) -> None:
        """Record the hour under way and wait for the records still being written (at shutdown)."""
        self.tally.close()
        for writer in self._writers:
            writer.join()

    def _write_later(self, record: BatchRecord) -> None:
        self._writers = [w for w in self._writers if w.is_alive()]
        writer = threading.Thread(target=self._write, args=(record,), name="batch-history", daemon=True)
        self._writers.append(writer)
        writer.start()

    def _write(self, record: BatchRecord) -> None:
        try:
            BatchHistory(self.url).record(record)
        except VitrineError as exc:  # the service goes on: only the hour's record is lost
            log.warning("%s", exc)


def _rows(listings: Sequence[Listing], photos: bool = False) -> BatchRows:
    """The listings as one chunk of a batch (with their photos' bytes when ``photos``)."""
    return BatchRows(
        positions=list(range(len(listings))), ids=[listing.id.strip() for listing in listings],
        names=[listing.name or "" for listing in listings],
        descriptions=[listing.description or "" for listing in listings],
        specifications=[specification_text(listing.specifications or "") for listing in listings],
        photos=[listing.photo if photos else None for listing in listings], photo_problems=[None] * len(listings),
        row_problems=[None if listing.id.strip() else "the listing has no id" for listing in listings])


def _classified(row: dict) -> Classified:
    confidence = row["confidence"]
    known = confidence is not None and not (isinstance(confidence, float) and np.isnan(confidence))
    top = [{"category": row[f"top_{k}"], "probability": float(row[f"top_{k}_probability"])}
           for k in range(1, TOP + 1) if isinstance(row.get(f"top_{k}"), str)]
    levels = sorted(key for key in row if key.startswith("confidence_level"))
    return Classified(row["id"], row["predicted"] if known else None, float(confidence) if known else None, top,
                      bool(row["needs_review"]), str(row["status"]),
                      int(row["accepted_level"]) if "accepted_level" in row else None,
                      [float(row[key]) for key in levels] if levels and known else None)


def decoded_photo(data: str) -> bytes:
    """A photo sent as base64 text, as bytes; VitrineError when it is not base64."""
    try:
        return base64.b64decode(data, validate=True)
    except ValueError as exc:
        raise VitrineError("The photo is not valid base64: send the file's bytes encoded as base64.") from exc
