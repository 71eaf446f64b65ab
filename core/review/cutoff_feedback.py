"""What operators' answers on a batch's flagged listings say of the review cut-off that flagged them.

The cut-off's guarantee is about the listings it accepts, which nobody reviews. The flagged ones, once
answered, show the other side: how often the model was right just below the cut-off. If the flagged
listings from the top down to some confidence were right at least as often as the promise needs, a lower
cut-off would have kept it on this batch (one batch: evidence for recalibrating, not a guarantee); if even
the most confident flagged band falls short, the cut-off was right to send them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.calibration import DEFAULT_PRECISION
from core.wording import percent

# Confidence bands, most confident first: where below the cut-off the model's answers are judged.
BAND_EDGES = (1.0, 0.9, 0.8, 0.7, 0.5, 0.0)


@dataclass(frozen=True)
class CutoffFeedback:
    """Per confidence band of the flagged listings operators answered without doubt: how many, how often
    the model was right, and how often from the top band down to that one."""

    bands: pd.DataFrame  # band, answered, model_right, right_down_to_here
    target: float
    lowest_kept: str | None  # the lowest band down to which the flagged listings kept the target

    def sentence(self) -> str:
        """The feedback in words."""
        answered = int(self.bands["answered"].sum())
        if not answered:
            return "No flagged listing has an answer given without doubt yet."
        right = float((self.bands["model_right"] * self.bands["answered"]).sum()) / answered
        said = (f"Of the {answered} flagged listing(s) operators answered without doubt (where several answered, "
                f"only those they agreed on), the model was right on {right:.0%}.")
        if self.lowest_kept is None:
            return (f"{said} Accepting even the most confident of them would not have kept {percent(self.target)}: "
                    "the cut-off was right to send them.")
        last = int(self.bands.index[self.bands["band"].str.startswith(self.lowest_kept)][0])
        counted = int(self.bands["answered"].head(last + 1).sum())
        reached = float(self.bands.at[last, "right_down_to_here"])
        return (f"{said} Accepting the flagged listings from the top down to {self.lowest_kept} confidence would "
                f"have been right {percent(reached)} of the time on this batch ({counted} answered), at least the "
                f"{percent(self.target)} promised: evidence, not a guarantee, that the cut-off could be lower; "
                "recalibrating on a corrected data version would tell.")


def cutoff_feedback(answers: pd.DataFrame, flagged: pd.DataFrame,
                    target: float = DEFAULT_PRECISION) -> CutoffFeedback:
    """The feedback from ``answers`` (operator, uniq_id, label, in_doubt, id: the answers in force) on a
    batch queue's ``flagged`` listings (uniq_id, the key answers are saved with; predicted; confidence). A
    listing counts when every operator who answered it without doubt named one category; the model was right
    when that is its prediction."""
    sure = answers[~answers["in_doubt"].astype(bool)]
    latest = sure.sort_values("id").groupby(["operator", "uniq_id"], as_index=False).last()
    named = latest.groupby("uniq_id")["label"].agg(set)
    agreed = {key: next(iter(labels)) for key, labels in named.items() if len(labels) == 1}
    listings = flagged[flagged["uniq_id"].isin(agreed)].copy()
    listings["right"] = listings["predicted"] == listings["uniq_id"].map(agreed)
    rows = []
    for high, low in zip(BAND_EDGES, BAND_EDGES[1:]):
        band = listings[(listings["confidence"] >= low) & ((listings["confidence"] < high) | (high == 1.0))]
        rows.append({"band": f"{low:.0%}–{high:.0%}", "answered": len(band),
                     "model_right": float(band["right"].mean()) if len(band) else np.nan})
    bands = pd.DataFrame(rows)
    counts, rights = bands["answered"].cumsum(), (bands["model_right"].fillna(0) * bands["answered"]).cumsum()
    bands["right_down_to_here"] = np.where(counts > 0, rights / counts.where(counts > 0, 1), np.nan)
    kept = bands[(bands["answered"] > 0) & (bands["right_down_to_here"] >= target)]
    # Only a run from the top counts: the first band that falls short ends it.
    first_short = bands.index[(bands["answered"] > 0) & (bands["right_down_to_here"] < target)]
    if len(first_short):
        kept = kept[kept.index < first_short[0]]
    lowest = None if kept.empty else f"{BAND_EDGES[kept.index[-1] + 1]:.0%}"
    return CutoffFeedback(bands, target, lowest)
