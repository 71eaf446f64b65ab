"""The command line: ``python -m core --help``."""
from __future__ import annotations

import argparse
import errno
import json
import math
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pandas as pd
from tqdm import tqdm

from core.actions.classify import classify_file
from core.actions.explain import ScenarioExplanations, relevance_keywords
from core.actions.labels import apply_corrections, find_label_issues
from core.calibration import DEFAULT_CONFIDENCE, DEFAULT_PRECISION, SCOPES, Promise
from core.classify.ray_engine import check_reachable
from core.dataset import ORIGINAL_VERSION, Dataset, load_dataset
from core.download import DATASET_URL_ENV, dataset_url, download_dataset
from core.errors import DatasetError, ModelMissingError, ScenarioUnavailableError, VitrineError
from core.explain.keywords import KEYWORDS_TABLE
from core.hierarchy import MAX_LEVEL, level_report
from core.importer import import_dataset
from core.labels.compare import before_after, compare_table
from core.labels.issues import COLUMNS, JSON_KEYS
from core.labels.versions import (
    VERSION_ENV,
    apply_version,
    correction_rule,
    selected_version,
    version_names,
)
from core.locations import SAMPLE_NOTICE, project_data_dir
from core.models.clip import (
    DEFAULT_CLIP,
    clip_available,
    configured_clip_id,
    download_clip,
    import_clip,
)
from core.models.weights import model_folder
from core.progress import Progress, silent
from core.quality import data_report
from core.review.batch_history import batch_history
from core.review.queues import disputed
from core.runs import kept_at_level, run_scenario, top_down_is_kept
from core.scenarios.registry import SCENARIO_NAMES, all_scenarios, scenario_named
from core.scenarios.variants import TRAIN_SHARES, variant
from core.service.keys import RIGHTS, KeyStore
from core.split import TRAIN_SHARE
from core.wording import acceptance_summary, back_off_words, level_words, review_line
from core.workspace import Workspace

if TYPE_CHECKING:
    from core.service.app import ServiceSettings

EXIT_USAGE, EXIT_DATA, EXIT_UNAVAILABLE, EXIT_INTERRUPTED = 2, 3, 4, 130


class TqdmProgress:
    """A progress callback drawing one tqdm bar per message on stderr."""

    def __init__(self, label: str):
        self.label = label
        self.bar: tqdm | None = None
        self.message = ""

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.bar is None or message != self.message:
            self.close()
            self.message = message
            # A total of 0 is an unknown one (a stream of rows): a count, not "0it".
            # disable=None: no bar where stderr is no terminal (a log file), where its remains ran into the summary
            self.bar = tqdm(total=total or None, desc=f"{self.label}: {message}", file=sys.stderr, leave=False,
                            disable=None)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _Parser(argparse.ArgumentParser):
    """argparse's parser (its sub-commands' too), whose refusal is one line that says where the options are
    listed, not the whole usage before it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    scenarios = list(SCENARIO_NAMES)  # names only: building the scenarios would import torch
    parser = _Parser(prog="python -m core", description="Vitrine: explainable product-listing classification "
                     "(data checks, scenario runs).")
    parser.add_argument("--data-version", default=None, metavar="NAME",
                        help="run on a corrected data version written by `labels apply` (default: "
                        f"${VERSION_ENV}, else {ORIGINAL_VERSION})")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="inspect or import the listings data",
                               description="Inspect or import the listings data.")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    data_commands.add_parser("report", help="counts, missing photos, text lengths in words and CLIP tokens",
                             description="Print the data-quality report of the configured dataset.")
    importing = data_commands.add_parser("import", help="import a folder or zip (CSV + Images/) into data/flipkart",
                                         description="Import a dataset in the original layout (a CSV beside an "
                                         "Images/ folder, as a folder or a zip) into the project's data folder.")
    importing.add_argument("source", type=Path, help="folder or .zip holding the CSV and Images/")
    importing.add_argument("--replace", action="store_true",
                           help="replace the dataset an earlier import wrote there (only its files)")
    fetching = data_commands.add_parser("download", help="fetch the study's data set and import it (needs internet)",
                                        description="Download the study's public zip (Flipkart/ with the CSV and "
                                        f"Images/; ${DATASET_URL_ENV} overrides the address), check it, and import "
                                        "it into the project's data folder as `data import` does. Offline, "
                                        "download the zip elsewhere and use `data import PATH`.")
    fetching.add_argument("--replace", action="store_true",
                          help="replace the dataset an earlier import wrote there (only its files)")

    run = commands.add_parser("run", help="run a scenario (or all) and print its results",
                              description="Run a scenario on the shared split and print its row of the results "
                              "table. Results are stored and reused for the same inputs.")
    run.add_argument("scenario", choices=scenarios + ["all"], help="scenario name, or 'all'")
    run.add_argument("--json", action="store_true", help="print one JSON object per scenario")
    run.add_argument("--train-share", type=float, default=TRAIN_SHARE, choices=TRAIN_SHARES,
                     help="variant: the share of listings trained on, the rest tested (default 0.8, the study's)")
    run.add_argument("--greyscale", action="store_true", help="variant: scenarios that read photos read them in grey")
    run.add_argument("--level", type=int, default=1, choices=range(1, MAX_LEVEL + 1),
                     help="the level of the category tree (default 1); below the first, a flat and a top-down "
                     "classifier are both run, and the better by 5-fold CV is named")
    run.add_argument("--keywords", action="store_true",
                     help="variant: tfidf gives the seller guide's top words per category (found on the train "
                     "split) three times the weight")
    run.add_argument("--force", action="store_true", help="recompute even when stored results exist")
    _promise_options(run)
    run.add_argument("--exact", action="store_true",
                     help="run CLIP in plain fp32 instead of the default fast int8 path")
    densenet_options = run.add_mutually_exclusive_group()
    densenet_options.add_argument("--augment", action="store_true",
                                  help="train DenseNet121's head with mirrored photos too (default: none, as in "
                                  "the study)")
    densenet_options.add_argument("--fine-tune", action="store_true",
                                  help="also train DenseNet121's last dense block (early stopping on a validation "
                                  "slice of the train split; minutes on a CPU)")

    models = commands.add_parser("models", help="download, import or list model weights",
                                 description="Model weights live in the local models folder; loading never "
                                 "downloads. Download them on a machine with internet, or import a saved copy.")
    model_commands = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    model_commands.add_parser("list", help="which models are on this machine",
                              description="Show each model, where it is expected and whether it is there.")
    download = model_commands.add_parser("download", help="fetch weights from their hub (needs internet)",
                                         description="Fetch weights into the models folder (needs internet): "
                                         "CLIP from the Hugging Face hub, DenseNet121 from torchvision's server.")
    download.add_argument("kind", choices=["clip", "densenet"], help="which model")
    download.add_argument("--model", default=DEFAULT_CLIP, help=f"CLIP hub id (default {DEFAULT_CLIP})")
    importing_model = model_commands.add_parser("import", help="take weights from a folder (no internet needed)",
                                                description="Check that a saved model loads (CLIP: a folder "
                                                "saved with save_pretrained; DenseNet121: a state dict file), then "
                                                "copy it into the models folder.")
    importing_model.add_argument("kind", choices=["clip", "densenet"], help="which model")
    importing_model.add_argument("source", type=Path, help="CLIP: folder holding config.json, weights and processor "
                                 "files; DenseNet: torchvision's densenet121 .pth state dict")
    importing_model.add_argument("--model", default=DEFAULT_CLIP,
                                 help=f"CLIP id to file it under (default {DEFAULT_CLIP})")
    classify = commands.add_parser(
        "classify", help="classify a file of new listings (CSV, Parquet, or a folder or zip with photos)",
        description="Classify every row of a file of new listings with the scenario's classifier stored for the "
        "current data set (trained first when there is none) and write one output row per input row, in input "
        "order: id, predicted category, confidence, the top 3 categories, needs_review (below the scenario's "
        "review cut-off) and a status. The input needs an id column (uniq_id or id) and a description or "
        "product name; an optional photo column (photo or image) holds paths relative to the file.")
    classify.add_argument("input", help="CSV or Parquet file, or a folder or zip holding a CSV and images/; with "
                          "--engine ray also a folder of Parquet files or any path Ray's readers take")
    classify.add_argument("--scenario", default="tfidf", choices=scenarios, help="which classifier (default tfidf)")
    classify.add_argument("--level", type=int, default=1, choices=range(1, MAX_LEVEL + 1),
                          help="the level of the category tree to file listings at (default 1); below the first, "
                          "each listing is filed as deep as the cut-offs allow (the flat or top-down classifier, "
                          "whichever cross-validates better)")
    classify.add_argument("--out", default=None,
                          help="output file: Parquet, or CSV when it ends in .csv (default: beside the input, "
                          "INPUT.<scenario>.parquet); with --engine ray, a folder (ending in /) gets Parquet shards")
    classify.add_argument("--explain", action="store_true", help="add the 5 most relevant words of each listing")
    _promise_options(classify)
    classify.add_argument("--review-unlike", action="store_true",
                          help="send the whole batch to review when it is unlike the listings the cut-off was "
                          "calibrated on (its guarantee does not hold there)")
    classify.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                          help="where the model runs: auto takes a CUDA GPU when torch sees one, else the CPU")
    classify.add_argument("--engine", choices=["local", "ray"], default="local",
                          help="local (default): this process; ray: Ray Data, on a local Ray with this machine's "
                          "cores or on the cluster $RAY_ADDRESS names (needs requirements-scale.txt)")
    classify.add_argument("--to-review", action="store_true",
                          help="send the listings that need review (and have a name, description or photo to show) "
                          "to the operators' review queue")

    labels = commands.add_parser("labels", help="likely label errors, the operators' corrections, before and after",
                                 description="The label loop: listings whose given category the scenario's "
                                 "held-out predictions doubt most; the operators' corrections as a new data "
                                 "version; each scenario before and after.")
    label_commands = labels.add_subparsers(dest="labels_command", required=True, metavar="ACTION")
    issues = label_commands.add_parser(
        "issues", help="rank every listing by cleanlab's label quality score",
        description="Out-of-fold class probabilities for every listing (stratified 5-fold over all listings), "
        "ranked by cleanlab's label quality score, lowest (most doubtful) first; is_issue marks the listings "
        "cleanlab's find_label_issues counts as label errors. The ranking is stored beside the scenario's result.")
    issues.add_argument("--scenario", default="tfidf", choices=scenarios, help="which classifier (default tfidf)")
    issues.add_argument("--level", type=int, default=1, choices=range(1, MAX_LEVEL + 1),
                        help="the level of the category tree (default 1): below the first, the labels are paths and "
                        "a listing's sub-category is judged against the others")
    issues.add_argument("--top", type=_whole_number("the number of rows", 1), default=20,
                        help="rows to print (default 20; all are stored)")
    issues.add_argument("--json", action="store_true", help="one JSON object per line, in rank order")
    applying = label_commands.add_parser(
        "apply", help="write the operators' corrections as a new data version",
        description="Turn the review answers into label corrections (" + correction_rule() + ") and write "
        "them as a new data version: the original CSV is never edited. Run any command on it with "
        "--data-version NAME.")
    applying.add_argument("--name", default=None, help="the version's name (default corrected-<date>-<time>)")
    applying.add_argument("--min-operators", type=_whole_number("the number of operators", 1), default=1,
                          help="operators who must have answered a listing for it to be corrected (default 1)")
    comparing = label_commands.add_parser(
        "compare", help="each scenario on the original data and on a corrected version",
        description="Run each scenario on the original data and on a corrected version (stored results are "
        "reused) and print test accuracy against the original and against the corrected test labels. "
        "Both versions use the same split, made on the original labels, so no corrected test label trains.")
    comparing.add_argument("--version", default=None, help="the corrected version (default: the latest written)")
    comparing.add_argument("--scenario", default="tfidf", choices=[*scenarios, "all"],
                           help="which scenario, or all that can run here (default tfidf)")

    explain = commands.add_parser("explain", help="measure explanations, list the words that drive each category",
                                  description="Explanations over the dataset: faithfulness of the methods "
                                  "(deletion curves) and the keywords per category.")
    explain_commands = explain.add_subparsers(dest="explain_command", required=True, metavar="ACTION")
    faithfulness = explain_commands.add_parser(
        "faithfulness", help="deletion curves over the test split, per method",
        description="Delete the most relevant patches / words first and follow the class probability, for "
        "gradient-weighted relevance, random order, raw attention, occlusion and Integrated Gradients. "
        "Writes a CSV beside the results and prints the mean area per method (lower is better).")
    faithfulness.add_argument("--scenario", default="clip_a", choices=scenarios,
                              help="a scenario that compares explanation methods (clip_a, clip_b)")
    faithfulness.add_argument("--limit", type=_whole_number("the number of listings", 1), default=None,
                              help="only the first N test listings")
    faithfulness.add_argument("--no-alternatives", action="store_true", help="relevance and random order only")
    keywords = explain_commands.add_parser(
        "keywords", help="the words that drive each category",
        description="Aggregate each listing's word relevance for its own category over the dataset and print "
        "the top words per category (also written as a CSV beside the results).")
    keywords.add_argument("--scenario", default="clip_a", choices=scenarios,
                          help="a scenario that explains words")
    keywords.add_argument("--top", type=_whole_number("the number of words", 1), default=10,
                          help="words per category (default 10)")
    serve = commands.add_parser(
        "serve", help="the HTTP service for the marketplace's listing form",
        description="Serve classify, explain and advice over HTTP (FastAPI on uvicorn), with the OpenAPI document "
        "at /openapi.json and interactive docs at /docs. Requests need an API key (see 'keys').")
    serve.add_argument("--scenario", default="tfidf", choices=scenarios, help="which classifier (default tfidf)")
    serve.add_argument("--level", type=int, default=1, choices=range(1, MAX_LEVEL + 1),
                       help="the level of the category tree its answers go down to (default 1), as for classify")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    serve.add_argument("--port", type=_whole_number("a port", 1, 65535), default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=_whole_number("the number of worker processes", 1), default=1,
                       help="worker processes (default 1; --engine local)")
    serve.add_argument("--engine", choices=["local", "ray"], default="local",
                       help="local (default): uvicorn worker processes on this machine; ray: Ray Serve replicas, "
                       "autoscaled, on a local Ray or the cluster at $RAY_ADDRESS")
    serve.add_argument("--replicas", type=_whole_number("the number of replicas", 1),
                       default=max(1, os.cpu_count() or 1),
                       help="--engine ray: most replicas the autoscaler may start (default: this machine's cores)")
    serve.add_argument("--cors", action="append", default=[], metavar="ORIGIN",
                       help="a browser origin allowed to call the service (repeat for several); none by default")
    serve.add_argument("--max-batch", type=_whole_number("the size of a model call", 1), default=32,
                       help="most listings in one model call (default 32)")
    serve.add_argument("--max-wait-ms", default=None,
                       type=_positive_number("a wait (milliseconds)", zero_allowed=True),
                       help="how long a model call waits for more listings than those already waiting (default: 5 "
                       "for CLIP on the CPU, so that the clients a call answered join the next one; 0 otherwise: "
                       "under load, the listings that arrive during one call make the next)")
    serve.add_argument("--model-calls", type=_whole_number("the number of model calls at once", 1), default=None,
                       help="model calls run at once (default: for CLIP on the CPU, one per torch compute stream, "
                       "about one per core; 1 otherwise)")
    serve.add_argument("--rate", type=_positive_number("a rate (requests per second)"), default=200.0,
                       help="requests per second per key (default 200)")
    serve.add_argument("--timeout", type=_positive_number("a timeout (seconds)"), default=30.0,
                       help="seconds before a request is answered 504")

    keys = commands.add_parser("keys", help="the service's API keys", description="Create, list or revoke the "
                               "API keys the service accepts; a key is shown once, and stored only as its hash.")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    creating = key_commands.add_parser("create", help="a new key; printed once, on the last line")
    creating.add_argument("name", help="who the key is for (letters, digits, '-', '_')")
    creating.add_argument("--rights", default=",".join(RIGHTS),
                          help=f"comma-separated, some of {', '.join(RIGHTS)} (default: all)")
    key_commands.add_parser("list", help="every key's name, rights and creation time")
    revoking = key_commands.add_parser("revoke", help="refuse a key from now on")
    revoking.add_argument("name")
    commands.add_parser("batches", help="the history of classified batches, newest first",
                        description="Every batch classified (by classify, the app's Classify page or the service, "
                        "one per hour), newest first: its rows, the share accepted without review and sent to review, "
                        "whether it was unlike the calibration data, and how often operators agreed with the model on "
                        "its flagged listings.")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            return _models(args, Workspace.from_environment())
        if args.command == "data" and args.data_command in ("import", "download"):
            if args.data_command == "import":
                dataset = import_dataset(args.source, project_data_dir(), replace=args.replace)
            else:
                dataset = _download(args.replace)
            print(f"Imported {len(dataset.listings)} listings into {dataset.csv_path.parent}")
            if reason := dataset.unusable_reason():
                print(f"warning: {reason}", file=sys.stderr)
            return 0
        workspace = Workspace.from_environment()
        if args.command == "keys":
            return _keys(args, workspace)
        if args.command == "batches":
            return _batches(workspace)
        original = load_dataset()
        dataset = apply_version(workspace.versions, original, args.data_version or selected_version())
        if args.command == "data":
            if dataset.is_sample:
                print(SAMPLE_NOTICE)
            print(data_report(dataset).to_text())
            return 0
        if dataset.is_sample:
            print(f"note: {SAMPLE_NOTICE}", file=sys.stderr)
        if reason := dataset.unusable_reason():
            raise DatasetError(reason)
        if args.command == "explain":
            return _explain(args, workspace, dataset)
        if args.command == "serve":
            return _serve(args, workspace, dataset)
        if args.command == "classify":
            return _classify(args, workspace, dataset)
        if args.command == "labels" and args.labels_command == "issues":
            return _label_issues(args, workspace, dataset)
        if args.command == "labels" and args.labels_command == "apply":
            return _apply_corrections(args, workspace, original)
        if args.command == "labels":
            return _compare_versions(args, workspace, original)
        return _run(args, workspace, dataset)
    except (ModelMissingError, ScenarioUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        print("stopped" if args.command == "serve" else "stopped: nothing was written under the output's name",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except VitrineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA


def _keys(args: argparse.Namespace, workspace: Workspace) -> int:
    store = KeyStore(workspace.root / "service-keys.json")
    if args.keys_command == "create":
        secret = store.create(args.name, tuple(r.strip() for r in args.rights.split(",") if r.strip()))
        print(f"key {args.name!r} created; it is shown only now, keep it secret:", file=sys.stderr)
        print(secret)
    elif args.keys_command == "list":
        for key in store.list():
            print(f"{key.name}\t{','.join(key.rights)}\tcreated {key.created}")
    else:
        store.revoke(args.name)
        print(f"key {args.name!r} revoked")
    return 0


def _batches(workspace: Workspace) -> int:
    table = batch_history(workspace.review_url).table
    if table.empty:
        print("No batch classified yet: `python -m core classify FILE`, the app's Classify page and the service "
              "each record the batches they classify.")
        return 0
    shown = pd.DataFrame({
        "when (UTC)": table["when"].map(lambda t: f"{t:%Y-%m-%d %H:%M}"), "source": table["source"],
        "rows": table["rows"], "accepted": table["accepted_share"].map(_share),
        "to review": table["review_share"].map(_share),
        "drift": table["unlike"].map({True: "unlike", False: "like"}).fillna("not checked"),
        "agreement": [f"{_share(a)} of {n}" if n else "-" for a, n in zip(table["agreement"], table["answers"])],
        "scenario": table["scenario"], "batch": table["name"]})
    print(shown.to_string(index=False))
    return 0


def _share(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.1%}"


def _serve(args: argparse.Namespace, workspace: Workspace, dataset: Dataset) -> int:
    scenario = scenario_named(args.scenario, workspace)
    if reason := scenario.unavailable_reason():
        raise ScenarioUnavailableError(reason)
    if not KeyStore(workspace.root / "service-keys.json").list():
        print("note: no API key yet, so every request is refused: python -m core keys create NAME", file=sys.stderr)
    from core.service.app import ServiceSettings  # FastAPI: loaded for this command alone

    settings = ServiceSettings(scenario=_at_level(args, workspace, dataset), cors_origins=tuple(args.cors),
                               requests_per_second=args.rate,
                               timeout_s=args.timeout, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                               model_calls=args.model_calls)
    if args.engine == "ray":
        return _serve_on_ray(args, workspace, dataset, settings, scenario.uses_gpu)
    import uvicorn

    _check_free(args.host, args.port)
    # The workers build the application from the environment (uvicorn starts each on its own).
    os.environ.update({**settings.environment(), VERSION_ENV: dataset.version})
    print(f"Serving {settings.scenario} on http://{args.host}:{args.port} ({args.workers} worker(s)); its docs at "
          f"/docs; Ctrl-C stops it.", file=sys.stderr)
    uvicorn.run("core.service.app:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning")
    return 0


def _check_free(host: str, port: int) -> None:
    """A port another program holds, or a host that is no address of this machine, is said in one line before
    anything starts."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError as exc:
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:  # the address is wrong, not the port
            raise VitrineError(f"Cannot listen on {host!r}: it is not an address of this machine; give one with "
                               "--host (127.0.0.1 for this machine only, 0.0.0.0 for every network).") from exc
        raise VitrineError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}): another program may hold the "
                           "port; pick another with --port.") from exc


def _serve_on_ray(args: argparse.Namespace, workspace: Workspace, dataset: Dataset, settings: ServiceSettings,
                  uses_gpu: bool) -> int:
    try:
        from core.service.ray_serve import run_on_ray
    except ImportError as exc:
        raise ScenarioUnavailableError("Serving on Ray needs Ray Serve, which is not installed: `pip install -r "
                                       "requirements-scale.txt` (or leave out --engine ray).") from exc
    address = os.environ.get("RAY_ADDRESS") or None
    check_reachable(address)
    print(f"Serving {args.scenario} on http://{args.host}:{args.port} with Ray Serve, 1 to {args.replicas} "
          f"replica(s), on {address or 'a local Ray'}; Ctrl-C stops it.", file=sys.stderr)
    run_on_ray(workspace, dataset, settings, args.host, args.port, args.replicas, address, uses_gpu)
    return 0


def _download(replace: bool) -> Dataset:
    print(f"Downloading {dataset_url()}", file=sys.stderr)
    bars: list[tqdm] = []  # drawn once bytes arrive: offline, only the error line shows

    def progress(done: int, total: int | None) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="data set", unit="B", unit_scale=True, file=sys.stderr, leave=False))
        bars[0].update(done - bars[0].n)

    try:
        return download_dataset(project_data_dir(), replace=replace, progress=progress)
    finally:
        for bar in bars:
            bar.close()


def _models(args: argparse.Namespace, workspace: Workspace) -> int:
    # torchvision: imported for this command alone, so that the others start fast.
    from core.models.densenet import DENSENET_ID, densenet_available, download_densenet, import_densenet, weights_path

    models, cache = workspace.models, workspace.cache
    if args.models_command == "list":
        model_id = configured_clip_id()
        for kind, name, present, where in (
            ("clip", model_id, clip_available(model_id, models), model_folder(model_id, models)),
            ("densenet", DENSENET_ID, densenet_available(models), weights_path(models)),
        ):
            print(f"{kind:9} {name}  {'present' if present else 'missing'}  ({where})")
        return 0
    target = model_folder(args.model, models) if args.kind == "clip" else weights_path(models)
    replacing = " (replacing the copy Vitrine had installed there)" if target.exists() else ""
    if args.models_command == "download":
        folder = download_clip(args.model, models) if args.kind == "clip" else download_densenet(models, cache)
        print(f"Downloaded {args.kind} into {folder}{replacing}")
    else:
        folder = (import_clip(args.source, args.model, models) if args.kind == "clip"
                  else import_densenet(args.source, models, cache))
        print(f"Imported {args.source} into {folder}{replacing}")
    return 0


def _explain(args: argparse.Namespace, workspace: Workspace, dataset) -> int:
    scenario = scenario_named(args.scenario, workspace)
    able = "compares_explanations" if args.explain_command == "faithfulness" else "explains_words"
    if not getattr(scenario, able):
        fits = ", ".join(name for name, s in all_scenarios(workspace).items() if getattr(s, able))
        print(f"explain {args.explain_command} does not apply to {args.scenario}; it does to: {fits}", file=sys.stderr)
        return EXIT_USAGE
    reason = scenario.unavailable_reason()
    if reason:
        print(f"{args.scenario} cannot run: {reason}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    explanations = ScenarioExplanations(scenario, dataset, workspace)
    progress = TqdmProgress(args.scenario)
    try:
        if args.explain_command == "faithfulness":
            # torch and captum: imported for this command alone, so that the others start fast.
            from core.explain.faithfulness import FAITHFULNESS_TABLE, faithfulness_on_test_split, faithfulness_table

            rows = faithfulness_on_test_split(explanations.attributor.engine, dataset.listings, args.limit,
                                              not args.no_alternatives, progress)
            table, name = faithfulness_table(rows), FAITHFULNESS_TABLE
        else:
            table, name = relevance_keywords(explanations, top=args.top, progress=progress), KEYWORDS_TABLE
    finally:
        progress.close()
    path = workspace.results_store().save_table(scenario, dataset.fingerprint, name, table)
    print(table.to_string(index=False))
    print(f"written to {path}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, workspace: Workspace, dataset) -> int:
    scenarios = all_scenarios(workspace, fast=not args.exact, augment=args.augment, fine_tune=args.fine_tune)
    names = list(scenarios) if args.scenario == "all" else [args.scenario]
    store = workspace.results_store()
    started = time.perf_counter()
    code, reused = 0, False
    for name in names:
        ran = []
        for top_down in (False, True) if args.level > 1 else (False,):
            progress = TqdmProgress(name)
            try:
                scenario = variant(scenarios[name], args.train_share, args.greyscale, args.keywords, args.level,
                                   top_down)
                result = run_scenario(scenario, dataset, store, force=args.force, progress=progress)
            except ScenarioUnavailableError as exc:
                print(f"{name} cannot run: {exc}", file=sys.stderr)
                if args.scenario != "all":
                    code = EXIT_UNAVAILABLE
                break
            finally:
                progress.close()
            ran.append(result)
            reused = reused or result.reused
            threshold = result.review_threshold(args.precision, args.confidence, args.cutoff)
            paths = level_report(*_test_paths(result)) if args.level > 1 else {}
            back_off = result.back_off(args.precision, args.confidence, args.cutoff)
            filed = result.test_back_off(back_off) if back_off is not None else None
            if args.json:
                print(json.dumps(result.summary() | acceptance_summary(result, threshold) | paths |
                                 ({"back_off": filed} if filed else {})))
            else:
                print(_row(result))
                if paths:
                    print(f"  {level_words(paths)}")
                print(f"  acceptance: {review_line(result, threshold)}")
                if filed:
                    print(f"  {back_off_words(filed)}")
        if len(ran) == 2 and not args.json:
            flat, top_down = ran
            tied = (flat.cv_mean or 0.0) == (top_down.cv_mean or 0.0)
            why = "the same 5-fold CV as top-down's, so the simpler classifier" if tied else "the better 5-fold CV"
            print(f"  kept at level {args.level}: {ran[int(top_down_is_kept(flat, top_down))].scenario} ({why})")
    # A stored result is read in a blink: say so, or the time reads as the scenarios' own.
    stored = "; stored results were reused, --force runs them again" if reused else ""
    print(f"wall time for the scenarios {time.perf_counter() - started:.1f} s{stored}", file=sys.stderr)
    return code


def _test_paths(result) -> tuple[list[str], list[str]]:
    test = result.predictions[result.predictions["split"] == "test"]
    return test["true"].tolist(), test["predicted"].tolist()


def _row(result) -> str:
    cv = f"{result.cv_mean:.1%} ± {result.cv_std:.1%}" if result.cv_mean is not None else "n/a"
    reused = " (stored result reused)" if result.reused else ""
    return (f"{result.scenario}: train {result.train_accuracy:.1%}, test {result.test_accuracy:.1%}, "
            f"macro-F1 {result.macro_f1:.3f}, 5-fold CV {cv}, {result.seconds['total']:.1f} s{reused}")


def _promise_options(parser: argparse.ArgumentParser) -> None:
    """The acceptance promise's options, the same for ``run`` and ``classify``."""
    parser.add_argument("--precision", type=_precision, default=DEFAULT_PRECISION,
                        help="target precision of the listings accepted without review (default 0.99)")
    parser.add_argument("--confidence", type=_confidence, default=DEFAULT_CONFIDENCE,
                        help="how sure the cut-off must be to keep that precision on new listings (default 0.9: "
                        "it may miss the target 1 time in 10)")
    parser.add_argument("--cutoff", choices=SCOPES, default="auto",
                        help="one cut-off for all listings (global), one per predicted category (per-category), "
                        "or whichever accepts more while keeping the guarantee (auto, the default)")


def _number(text: str, what: str, example: str) -> float:
    """An option's value as a number, or a refusal naming the option (``what``) with an ``example``."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} is a number between 0 and 1 ({example}); got {text}") from None


def _whole_number(what: str, least: int, most: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``least`` (up to ``most``), else a refusal in one line naming
    ``what`` (a count of zero workers or listings would start a server that never answers)."""
    bounds = f" from {least} to {most}" if most is not None else f", at least {least}"

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least or (most is not None and value > most):
            raise argparse.ArgumentTypeError(f"{what} is a whole number{bounds}, not {text!r}")
        return value
    return whole_number


def _positive_number(what: str, zero_allowed: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number above 0 (or 0 too, with ``zero_allowed``), else a refusal naming
    ``what`` (a rate or a timeout of 0 would refuse every request)."""
    bounds = "0 or more" if zero_allowed else "above 0"

    def positive_number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
            raise argparse.ArgumentTypeError(f"{what} is a number {bounds}, not {text!r}")
        return value
    return positive_number


def _precision(text: str) -> float:
    value = _number(text, "a precision", "0.99 is 99 %")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"a precision is a share between 0 and 1 (0.99 is 99 %); got {text}")
    return value


def _confidence(text: str) -> float:
    value = _number(text, "a confidence", "0.9 is 90 %")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"a confidence is a share strictly between 0 and 1 (0.9 is 90 %); got {text}")
    return value


def _promise(args: argparse.Namespace) -> Promise:
    return Promise(args.precision, args.confidence, args.cutoff, getattr(args, "review_unlike", False))


def _classify(args: argparse.Namespace, workspace: Workspace, dataset) -> int:
    progress = TqdmProgress(args.scenario)
    name = _at_level(args, workspace, dataset, progress)

    def loaded(where: str, review: str) -> None:
        print(f"{name} on {where}; {review}", file=sys.stderr)

    try:
        run = classify_file(workspace, Path(args.input), name, dataset, args.out, _promise(args),
                            args.engine, args.device, args.explain, args.to_review, progress, loaded)
    finally:
        progress.close()
    for line in run.summary.lines():
        print(line)
    if run.sent is not None:
        print(run.sent.outcome(run.summary.needs_review))
    if run.unrecorded:
        print(f"warning: {run.unrecorded}", file=sys.stderr)
    return 0


def _at_level(args: argparse.Namespace, workspace: Workspace, dataset: Dataset,
              progress: Progress = silent) -> str:
    """The scenario's name at the level asked for (``--level``): its own, or its level variant kept by CV."""
    if args.level == 1:
        return args.scenario
    return kept_at_level(scenario_named(args.scenario, workspace), args.level, dataset, workspace.results_store(),
                         progress).name


def _apply_corrections(args: argparse.Namespace, workspace: Workspace, original: Dataset) -> int:
    applied = apply_corrections(workspace, original, args.min_operators, args.name)
    corrections, folder = applied.corrections, applied.folder
    print(corrections[["uniq_id", "old_label", "new_label", "operators"]].to_string(index=False))
    print(f"{len(corrections)} correction(s) written as data version {folder.name} ({folder}); the rule: "
          f"{correction_rule(args.min_operators)}. Run on it with --data-version {folder.name}.")
    return 0


def _compare_versions(args: argparse.Namespace, workspace: Workspace, original: Dataset) -> int:
    names = version_names(workspace.versions)
    version = args.version or (names[-1] if names else None)
    if version is None:
        raise DatasetError("No corrected data version exists yet: write one with `python -m core labels apply`.")
    corrected = apply_version(workspace.versions, original, version)
    if reason := corrected.unusable_reason():
        raise DatasetError(reason)
    scenarios = all_scenarios(workspace)
    wanted = [n for n, s in scenarios.items() if not s.unavailable_reason()] if args.scenario == "all" \
        else [args.scenario]
    if skipped := [n for n in scenarios if n not in wanted and args.scenario == "all"]:
        print(f"left out, they cannot run here: {', '.join(skipped)}", file=sys.stderr)
    store = workspace.results_store()
    rows = []
    for name in wanted:
        progress = TqdmProgress(name)
        try:
            before, after = (run_scenario(scenarios[name], data, store, progress=progress)
                             for data in (original, corrected))
            rows.append(before_after(before, after))
        finally:
            progress.close()
    print(f"data version {version} against the original; the same split, made on the original labels")
    print(compare_table(rows).to_string(index=False, float_format=lambda v: f"{v:.1%}"))
    return 0


def _label_issues(args: argparse.Namespace, workspace: Workspace, dataset) -> int:
    scenario = variant(scenario_named(args.scenario, workspace), level=args.level)
    progress = TqdmProgress(scenario.name)
    try:
        table, path = find_label_issues(workspace, scenario, dataset, progress)
    finally:
        progress.close()
    shown = table.head(args.top)
    if args.json:
        for row in shown[JSON_KEYS].to_dict("records"):
            print(json.dumps({key: (bool(value) if key == "is_issue" else float(value) if key == "quality" else value)
                              for key, value in row.items()}))
    else:
        names = dataset.listings.set_index("uniq_id")["product_name"].astype(str)
        product = shown["uniq_id"].map(names).fillna("").map(lambda name: name if len(name) <= 40 else name[:39] + "…")
        print(shown.assign(product=product)[["uniq_id", "product", *COLUMNS[1:]]].to_string(index=False))
    counted = f"{int(table['is_issue'].sum())} of {len(table)} listing(s) counted as label issues by cleanlab; "
    if args.level > 1:  # the review queues hold first-level answers
        print(f"{counted}at level {args.level}, written to {path} (the Map of the listings marks them for "
              f"{scenario.name})", file=sys.stderr)
        return 0
    print(f"{counted}{int(disputed(table).sum())} (those, and those whose held-out model prefers another label) make "
          f"the review queue 'Likely label errors ({args.scenario})'; written to {path}", file=sys.stderr)
    return 0
