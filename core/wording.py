"""The product's own words for what it did, in one place: how a message becomes a clause inside a status or
a sentence of its own, and the review cut-off in words. Plain text only: Markdown is made at the UI edge
(``core.escaping``)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from core.calibration import ReviewThreshold, min_accepted


def clause(message: str) -> str:
    """A message written as sentences, to go inside a status: no capital first, no full stop."""
    return (message[:1].lower() + message[1:] if message[1:2].islower() else message).rstrip(".")


def sentence(text: str) -> str:
    """A clause (a summary line, a status) to stand on its own: a capital first, a full stop last."""
    return text[:1].upper() + text[1:] + "."


def percent(share: float) -> str:
    """A share as a percentage with the decimal that matters: 99%, 99.5%."""
    return f"{share:.1%}".replace(".0%", "%")


def promise_words(terms) -> str:
    """The target and its guarantee (of a ``Promise`` or a ``ReviewThreshold``), in words: "at least 99% right,
    with 90% confidence"."""
    return (f"at least {percent(terms.target_precision)} right, "
            f"with {percent(terms.confidence_level)} confidence")


def cutoff_words(threshold: ReviewThreshold) -> str:
    """Where the cut-off lies: one confidence, or each category's."""
    if threshold.per_category is None:
        return f"review below {threshold.cutoff:.1%} confidence"
    cut = [f"{c} {v:.1%}" for c, v in sorted(threshold.per_category.items()) if v is not None]
    return "review below each category's cut-off (" + "; ".join(cut) + "; every other category: all reviewed)"


def review_line(result, threshold: ReviewThreshold) -> str:
    """The review cut-off a scenario's held-out predictions gave, its guarantee, and what it did on the test
    split (listings neither the model nor the cut-off saw), with the precision's 95% interval."""
    if not threshold.accepts_any():
        return (f"no cut-off could be shown to keep {promise_words(threshold)} from its {threshold.held_out} held-out "
                "predictions, so every listing needs review")
    measured = result.test_coverage(threshold)
    return (f"{cutoff_words(threshold)}, chosen to keep what is accepted {promise_words(threshold)} "
            f"(Learn-then-Test on {threshold.held_out} held-out predictions); on the test split that accepts "
            f"{measured.share:.0%} without "
            f"review{_measured(measured, threshold)}")


def _measured(measured, threshold: ReviewThreshold) -> str:
    if measured.precision is None:
        return ""
    low, high = measured.interval()
    return (f" ({measured.accepted} of {measured.listings}, {measured.precision:.1%} of them right, 95% interval "
            f"{low:.1%}–{high:.1%}: {measured.verdict(threshold.target_precision)})")


def review_columns(result, threshold: ReviewThreshold) -> dict[str, str]:
    """A scenario's review cut-off and what it did on the test split (listings neither its model nor its cut-off
    saw), as short table cells: the target, the cut-off, the share accepted, the precision with its 95%
    interval, and whether the promise held."""
    cells = {"Promise": promise_words(threshold)}
    if not threshold.accepts_any():
        return cells | {"Review below": "all (no cut-off keeps it)", "Accepted (test)": "0%",
                        "Precision (test, 95% interval)": "", "Held on the test split": "nothing accepted"}
    measured = result.test_coverage(threshold)
    interval = measured.interval()
    return cells | {
        "Review below": (f"{threshold.cutoff:.1%} confidence" if threshold.per_category is None
                         else "a cut-off per category"),
        "Accepted (test)": f"{measured.share:.0%} ({measured.accepted} of {measured.listings})",
        "Precision (test, 95% interval)": ("" if interval is None else
                                           f"{measured.precision:.1%} ({interval[0]:.1%}–{interval[1]:.1%})"),
        "Held on the test split": measured.verdict(threshold.target_precision),
    }


def category_cells(result, threshold: ReviewThreshold) -> list[dict[str, str]]:
    """Each predicted category's cut-off (its own, or the global one), its held-out predictions, and what it
    accepted of the category's test predictions, as table cells."""
    test = result.predictions[result.predictions["split"] == "test"]
    confidence = result.probabilities()[(result.predictions["split"] == "test").to_numpy()].max(axis=1)
    predicted = test["predicted"].to_numpy(dtype=object)
    accepted = ~threshold.needs_review(confidence, predicted)
    right = (test["true"] == test["predicted"]).to_numpy()
    train = result.predictions[result.predictions["split"] == "train"]
    held = train["oof_predicted"].value_counts() if "oof_predicted" in train else pd.Series(dtype=int)
    rows = []
    for category in result.classes:
        mine = predicted == category
        cutoff = threshold.cutoff_for(category)
        held_out = threshold.held_out_per_category.get(category, held.get(category))
        taken = accepted[mine]
        rows.append({"Predicted category": category,
                     "Review below": "all" if cutoff is None else f"{cutoff:.1%}",
                     "Held-out predictions": "" if held_out is None else str(held_out),
                     "Accepted (test)": f"{taken.mean():.0%} of {mine.sum()}" if mine.any() else "none predicted",
                     "Right when accepted (test)": f"{right[mine][taken].mean():.1%}" if taken.any() else ""})
    return rows


def no_cutoff_reason(terms) -> str:
    """Why a promise (a ``Promise`` or a ``ReviewThreshold``) may have no cut-off: what it takes to show it."""
    fewest = min_accepted(terms.target_precision, terms.confidence_level)
    if fewest is None:
        return "A promise of 100% can never be shown from a sample: every listing needs review."
    return (f"Where a scenario reviews all, its held-out predictions cannot show the promise: showing "
            f"{promise_words(terms)} takes at least {fewest:,} held-out predictions accepted without an error "
            "(a lower confidence or target takes fewer), and a cut-off per category takes as many in each "
            "category.")


def acceptance_summary(result, threshold: ReviewThreshold) -> dict:
    """The promise and what it did on the test split, as plain JSON-ready values."""
    measured = result.test_coverage(threshold)
    interval = measured.interval()
    return {"target_precision": threshold.target_precision, "confidence_level": threshold.confidence_level,
            "cutoff_scope": threshold.scope, "cutoff": threshold.cutoff,
            "cutoffs_per_category": None if threshold.per_category is None else dict(threshold.per_category),
            "test_accepted_share": measured.share, "test_precision": measured.precision,
            "test_precision_interval": None if interval is None else list(interval),
            "promise_on_test": measured.verdict(threshold.target_precision)}


def listing_fate(scenario: str, threshold: ReviewThreshold, confidence: float, predicted: str | None = None,
                 accepted_share: float | None = None) -> str:
    """What the daily job would do with one listing of this confidence (and predicted category): accept it,
    or send it to an operator; with ``accepted_share``, the share of the test split the cut-off accepts."""
    cutoff = threshold.cutoff_for(predicted)
    where = f"{scenario}'s review cut-off" + (f" for {predicted}" if threshold.per_category is not None else "")
    share = "" if accepted_share is None else f"; it accepts {accepted_share:.0%} of the test split"
    if cutoff is None:
        return (f"In a batch, {scenario} sends {'every' if not threshold.accepts_any() else 'such a'} listing to an "
                f"operator: no cut-off could be shown to keep {promise_words(threshold)}.")
    if threshold.needs_review(np.array([confidence]), np.array([predicted], dtype=object))[0]:
        return (f"Below {where} ({cutoff:.1%}, chosen to keep {promise_words(threshold)}{share}): in a batch this "
                "listing would go to an operator.")
    return (f"At or above {where} ({cutoff:.1%}, chosen to keep {promise_words(threshold)}{share}): in a batch "
            "this listing would be accepted without review.")


def progress_text(standing, pace) -> str:
    """What is done and left in the queue, with the operator's pace once it is known."""
    text = f"{standing.answered} of {standing.total} products of this queue answered by you · {standing.left} left"
    if pace is not None:
        text += f" · your pace {pace.per_minute:.1f} a minute"
        text += f", about {math.ceil(pace.minutes_left)} min to go" if standing.left else ""
    return text


def level_words(report: dict) -> str:
    """A level report (``core.hierarchy.level_report``) on one line: accuracy and macro-F1 per level, then
    hierarchical F1."""
    levels = sorted({int(key[5]) for key in report if key.startswith("level")})
    parts = [f"level {n}: accuracy {report[f'level{n}_accuracy']:.1%}, macro-F1 {report[f'level{n}_macro_f1']:.3f}"
             for n in levels]
    return (f"test split by level: {'; '.join(parts)}; hierarchical precision {report['hierarchical_precision']:.3f}, "
            f"recall {report['hierarchical_recall']:.3f}, F1 {report['hierarchical_f1']:.3f}")


def back_off_words(found: dict) -> str:
    """What the back-off did on the test split (``ScenarioResult.test_back_off``), on one line."""
    levels = sorted(found["filed"], reverse=True)
    filed = ", ".join(f"{found['filed'][k]} filed at level {k}" for k in levels)
    line = f"back-off on the test split ({found['listings']} listings): {filed}, {found['to_review']} to review"
    if not found["accepted"]:
        return line
    low, high = binomtest(found["right"], found["accepted"]).proportion_ci(0.95, method="exact")
    return (f"{line}; of the {found['accepted']} filed, {found['right'] / found['accepted']:.1%} right at the level "
            f"they were filed at (95% interval {low:.1%}–{high:.1%})")
