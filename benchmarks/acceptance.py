"""Does the acceptance promise hold on listings neither the model nor its cut-off saw? Nested
cross-validation end to end through ``python -m core classify``.

The reference data (the shipped sample when it is absent) is cut into stratified outer folds. For each,
the other folds are written out as a data set of their own, on which ``classify`` runs its whole protocol
(the model trained on that data set's train split, the review cut-off chosen on its out-of-fold
predictions); the outer fold itself, never seen, is classified as batches of new listings through the
command line. Pooled over the folds: the precision of what was accepted without review, the share
accepted, and how many folds fell below the target. The rule the cut-off replaced (the most permissive
cut whose held-out precision just reaches the target) is scored on the same predictions beside it.

The same batches, their texts shuffled (each listing's words drawn at random from the batch) or made
foreign (the letters of each word scrambled), measure the batch check: the share of held-out batches
it flags (false alarms) and of altered ones (detections).

    .venv/bin/python benchmarks/acceptance.py [--scenarios tfidf tfidf_specs] [--folds 5] [--repeats 1] [--level 1]

With ``--level 2`` (or 3) the batches are classified down the category tree and the back-off is scored: a
listing counts as accepted when it is filed at any level, and as right when its path is right down to the
level it was filed at; its true path is its tree's, named as the fold's own data set names its categories
(a small sub-category as ``other <parent>``, as the merge rule does there).

The last line reads ``pooled_precision P accepted_share S folds F below_target B`` for the first
scenario (tfidf) at the target precision (0.99) and confidence (0.9). Issue targets: P >= 0.99, S >= 0.60.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import cpu_line  # noqa: E402

from core.calibration import DEFAULT_CONFIDENCE, DEFAULT_PRECISION  # noqa: E402
from core.classify.job import UNLIKE  # noqa: E402
from core.cli import main  # noqa: E402
from core.dataset import load_dataset, read_csv  # noqa: E402
from core.evaluation import ScenarioResult  # noqa: E402
from core.hierarchy import SEPARATOR, at_level, cut_path, other_path, tree_path  # noqa: E402
from core.scenarios.registry import scenario_named  # noqa: E402
from core.workspace import Workspace  # noqa: E402

BATCHES_PER_FOLD = 3


@dataclass
class Tally:
    """One scenario's pooled counts over every outer fold."""

    listings: int = 0
    accepted: int = 0
    right: int = 0
    old_accepted: int = 0
    old_right: int = 0
    filed: dict[int, int] = field(default_factory=dict)  # level -> listings filed there (with --level)
    below: int = 0
    folds: int = 0
    alarms: dict[str, list[bool]] = field(default_factory=lambda: {"held-out": [], "shuffled": [], "foreign": []})


def old_rule_cutoff(confidence: np.ndarray, correct: np.ndarray, target: float) -> float | None:
    """The cut-off the guarantee replaced: the lowest confidence whose held-out predictions at or above it
    are right at least ``target`` of the time (kept here only to score it beside the new one)."""
    order = np.argsort(-confidence, kind="stable")
    ranked, right = confidence[order], correct[order]
    precision = np.cumsum(right) / np.arange(1, len(right) + 1)
    ends = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
    reached = ends[precision[ends] >= target - 1e-12]
    return float(ranked[reached.max()]) if len(reached) else None


def shuffled(batch: pd.DataFrame, rng: random.Random) -> pd.DataFrame:
    """Each listing's name and description replaced by words drawn at random from the whole batch."""
    words = " ".join(batch["product_name"].fillna("") + " " + batch["description"].fillna("")).split()
    altered = batch.copy()
    altered["product_name"] = [" ".join(rng.choices(words, k=4)) for _ in range(len(batch))]
    altered["description"] = [" ".join(rng.choices(words, k=60)) for _ in range(len(batch))]
    return altered


def foreign(batch: pd.DataFrame, rng: random.Random) -> pd.DataFrame:
    """Each word's letters scrambled: words the model never saw, in the batch's own letters and lengths."""
    def scramble(text) -> str:
        return " ".join("".join(rng.sample(w, len(w))) for w in str(text or "").split())
    altered = batch.copy()
    altered["product_name"] = altered["product_name"].map(scramble)
    altered["description"] = altered["description"].map(scramble)
    return altered


def true_path(tree: list[str], categories: set[str], level: int) -> str:
    """A listing's category at ``level`` as a data set whose categories at that level are ``categories`` names
    it: its own sub-category, else its parent's ``other`` one, else (an unsplit parent) the parent itself."""
    for depth in range(min(level, len(tree)), 1, -1):
        for name in (SEPARATOR.join(tree[:depth]), other_path(SEPARATOR.join(tree[:depth - 1]))):
            if name in categories:
                return name
    return tree[0]


def classify(batch: pd.DataFrame, path: Path, scenario: str, args) -> pd.DataFrame:
    """The batch through the command line, its output read back."""
    batch[["uniq_id", "product_name", "description", "product_specifications"]].to_csv(path, index=False)
    out = path.with_suffix(".out.parquet")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["classify", str(path), "--scenario", scenario, "--out", str(out), "--precision",
                     str(args.precision), "--confidence", str(args.confidence), "--level", str(args.level)])
    if code != 0:
        raise SystemExit(f"classify exited {code} on {path}")
    return pd.read_parquet(out)


def run_fold(raw: pd.DataFrame, train: np.ndarray, test: np.ndarray, data: Path, truth: dict[str, str],
             tallies: dict[str, Tally], args, folder: Path, rng: random.Random) -> None:
    """One outer fold: its data set written, each scenario's batches classified and scored."""
    fold_data = folder / "data"
    fold_data.mkdir()
    raw.iloc[train].to_csv(fold_data / "listings.csv", index=False)
    (fold_data / "images").symlink_to((data / "images").resolve())
    os.environ["VITRINE_DATA_DIR"] = str(fold_data)
    os.environ["VITRINE_WORK_DIR"] = str(folder / "work")
    workspace = Workspace.from_environment()  # the fold's, as the command line sees it
    dataset = load_dataset(fold_data)
    held_out = raw.iloc[test].sample(frac=1.0, random_state=rng.randrange(2**31))
    batches = np.array_split(np.arange(len(held_out)), BATCHES_PER_FOLD)
    if args.level > 1:  # the held-out listings' true paths, named as this fold's data set names its categories
        categories = set(at_level(dataset.listings, args.level)[0]["category"])
        paths = {i: true_path(tree_path(tree), categories, args.level)
                 for i, tree in zip(held_out["uniq_id"], held_out["product_category_tree"])}
    for name, tally in tallies.items():
        outputs = []
        for k, rows in enumerate(batches):
            batch = held_out.iloc[rows]
            for kind, altered in (("held-out", batch), ("shuffled", shuffled(batch, rng)),
                                  ("foreign", foreign(batch, rng))):
                output = classify(altered, folder / f"{name}-{k}-{kind}.csv", name, args)
                tally.alarms[kind].append(bool(output["status"].str.contains(UNLIKE, regex=False).any()))
                if kind == "held-out":
                    outputs.append(output)
        output = pd.concat(outputs, ignore_index=True)
        accepted = ~output["needs_review"].to_numpy(dtype=bool)
        if args.level == 1:
            right = output["predicted"].to_numpy() == output["id"].map(truth).to_numpy()
        else:
            filed = output["accepted_level"].to_numpy(dtype=int)
            right = np.array([cut_path(path, depth) == cut_path(paths[i], depth)
                              for i, path, depth in zip(output["id"], output["predicted_path"].fillna(""), filed)])
            for depth in filed[filed > 0]:
                tally.filed[int(depth)] = tally.filed.get(int(depth), 0) + 1
        tally.listings += len(output)
        tally.accepted += int(accepted.sum())
        tally.right += int(right[accepted].sum())
        tally.folds += 1
        tally.below += bool(accepted.any() and right[accepted].mean() < args.precision)
        if args.level > 1:  # the rule the cut-off replaced was a first-level one
            continue
        stored = workspace.results_store().load(scenario_named(name, workspace), dataset.fingerprint)
        old = _old_accepted(stored, output, args.precision)
        tally.old_accepted += int(old.sum())
        tally.old_right += int(right[old].sum())


def _old_accepted(stored: ScenarioResult, output: pd.DataFrame, target: float) -> np.ndarray:
    train = stored.predictions[stored.predictions["split"] == "train"]
    cutoff = old_rule_cutoff(train["oof_confidence"].to_numpy(), train["oof_correct"].to_numpy(dtype=bool), target)
    return np.zeros(len(output), bool) if cutoff is None else (output["confidence"].to_numpy() >= cutoff)


def _rate(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)}" + (f" ({np.mean(flags):.0%})" if flags else "")


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["tfidf", "tfidf_specs"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--precision", type=float, default=DEFAULT_PRECISION)
    parser.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE)
    parser.add_argument("--level", type=int, default=1, help="the level of the category tree (default 1)")
    args = parser.parse_args()
    print(cpu_line())
    data = Path(os.environ.get("VITRINE_DATA_DIR") or load_dataset().csv_path.parent)
    reference = load_dataset(data)
    truth = dict(zip(reference.listings["uniq_id"], reference.listings["category"]))
    raw = read_csv(reference.csv_path)
    raw = raw[raw["uniq_id"].isin(truth)].reset_index(drop=True)  # the rows the data set keeps
    categories = raw["uniq_id"].map(truth)
    print(f"data: {len(raw)} listings in {data}; {args.folds} outer folds x {args.repeats} repeat(s); "
          f"target {args.precision:.1%} with {args.confidence:.0%} confidence; level {args.level}")
    tallies = {name: Tally() for name in args.scenarios}
    saved = {k: os.environ.get(k) for k in ("VITRINE_DATA_DIR", "VITRINE_WORK_DIR")}
    try:
        for repeat in range(args.repeats):
            rng = random.Random(repeat)
            outer = StratifiedKFold(args.folds, shuffle=True, random_state=repeat)
            for k, (train, test) in enumerate(outer.split(raw, categories)):
                with tempfile.TemporaryDirectory(prefix="vitrine-acceptance-") as folder:
                    run_fold(raw, train, test, data, truth, tallies, args, Path(folder), rng)
                print(f"repeat {repeat + 1}, fold {k + 1} done", file=sys.stderr)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    for name, t in tallies.items():
        precision = f"{t.right / t.accepted:.4f}" if t.accepted else "n/a (nothing accepted)"
        old = f"{t.old_right / t.old_accepted:.4f}" if t.old_accepted else "n/a"
        filed = ", ".join(f"{n} at level {depth}" for depth, n in sorted(t.filed.items())) or "none"
        replaced = f"the rule it replaced: {old} at {t.old_accepted / t.listings:.1%} accepted" if args.level == 1 \
            else f"filed {filed}"
        print(f"{name}: pooled precision {precision} ({t.right} of {t.accepted}), accepted "
              f"{t.accepted / t.listings:.1%} of {t.listings}, {t.below} of {t.folds} folds below target; {replaced}")
        print(f"{name}: batch check flags {_rate(t.alarms['held-out'])} held-out batches (false alarms), "
              f"{_rate(t.alarms['shuffled'])} shuffled and {_rate(t.alarms['foreign'])} foreign ones")
    first = tallies[args.scenarios[0]]
    pooled = first.right / first.accepted if first.accepted else float("nan")
    print(f"pooled_precision {pooled:.4f} accepted_share {first.accepted / first.listings:.3f} folds {first.folds} "
          f"below_target {first.below}")


if __name__ == "__main__":
    main_benchmark()
