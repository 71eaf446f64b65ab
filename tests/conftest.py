"""Shared fixtures: the reference data, a private work folder per test, hand-made datasets.

The tests run on the full reference data beside the repository when it is there (CI has it), else
on the sample shipped in assets/sample/ (a fresh clone): tests whose assertion needs the full 1050
listings are then skipped, with the reason in pytest's summary.
"""
from __future__ import annotations

import csv
import itertools
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.dataset import REQUIRED_COLUMNS, load_dataset
from core.escaping import WORD_JOINER
from core.locations import CSV_NAME, REPO_ROOT, SAMPLE_DATA_DIR, find_csv
from tests import postgresql

# Another copy of the reference data, or a missing folder to run the tests as on a fresh clone.
REFERENCE_DATA_ENV = "VITRINE_TEST_REFERENCE_DATA"
REFERENCE_DATA = Path(os.environ.get(REFERENCE_DATA_ENV) or REPO_ROOT.parent / "shared" / "data" / "flipkart")
HAS_REFERENCE_DATA = find_csv(REFERENCE_DATA) is not None
TEST_DATA = REFERENCE_DATA if HAS_REFERENCE_DATA else SAMPLE_DATA_DIR
needs_reference_data = pytest.mark.skipif(
    not HAS_REFERENCE_DATA,
    reason=f"needs the full reference data (1050 listings), absent at {REFERENCE_DATA} "
           "(the other tests use the shipped sample)",
)


def pytest_report_header(config) -> list[str]:
    if HAS_REFERENCE_DATA:
        data = f"data: the full reference data at {REFERENCE_DATA}"
    else:
        data = (f"data: the sample shipped in {SAMPLE_DATA_DIR} (no reference data at {REFERENCE_DATA}); "
                "tests that need the full set are skipped, with the reason below")
    binaries = postgresql.bin_dir()
    server = (f"postgresql: {postgresql.version(binaries)} from {binaries}" if binaries else
              "postgresql: not installed; the review store's PostgreSQL variants are skipped")
    return [data, server]


@pytest.fixture(autouse=True)
def pytests_own_main_module():
    """Streamlit's AppTest leaves the last page it ran as ``__main__``, and a process started with "spawn" runs
    ``__main__`` again first (a review page, then failing on its missing session): pytest's is put back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(autouse=True)
def private_work_dir(tmp_path_factory, monkeypatch):
    """Every test writes results, caches and reviews into its own folder."""
    work = tmp_path_factory.mktemp("work")
    monkeypatch.setenv("VITRINE_WORK_DIR", str(work))
    monkeypatch.setenv("VITRINE_DATA_DIR", str(TEST_DATA))
    return work


@pytest.fixture(scope="session")
def reference_dataset():
    """The data the tests run on: the full reference data, or the shipped sample when it is absent."""
    return load_dataset(TEST_DATA)


@pytest.fixture(scope="session")
def tfidf_result(reference_dataset):
    """The tfidf scenario's protocol run on the test data, once for the session."""
    from core.evaluation import evaluate
    from core.scenarios.tfidf import TfidfScenario

    return evaluate(TfidfScenario(), reference_dataset).result


@pytest.fixture(scope="session")
def postgresql_server():
    """A throwaway PostgreSQL server for the whole session; the tests that need it are skipped, saying
    how to get it, where PostgreSQL is not installed."""
    try:
        server = postgresql.start()
    except postgresql.PostgresUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


_schema_numbers = itertools.count()


@pytest.fixture
def postgresql_url(postgresql_server):
    """The SQLAlchemy URL of a new, empty schema on the session's server (a schema is made at once, a
    database takes 0.3 s); dropped after the test with the connections it left open."""
    from sqlalchemy import create_engine, text

    name = f"test_{next(_schema_numbers)}"
    admin = create_engine(postgresql_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    yield postgresql_server.url(name)
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"))
        connection.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


def split_accuracy(predictions, split: str = "test") -> float:
    """The accuracy of stored predictions on one split, recomputed from the rows themselves."""
    rows = predictions[predictions["split"] == split]
    return float((rows["true"] == rows["predicted"]).mean())


def write_dataset(folder: Path, rows: list[dict], images: dict[str, Image.Image] | None = None,
                  columns: tuple[str, ...] = REQUIRED_COLUMNS) -> Path:
    """A small dataset in Vitrine's layout: CSV + images/; returns the folder."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with (folder / CSV_NAME).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    for name, image in (images or {}).items():
        image.save(folder / "images" / name)
    return folder


def shown(markdown: str) -> str:
    """The text that Markdown made by ``plain_markdown`` shows: its escapes and word joiners taken off
    (Markdown syntax the page writes itself, such as ``**``, stays)."""
    return re.sub(r"\\(.)", r"\1", markdown, flags=re.DOTALL).replace(WORD_JOINER, "")


def operator_field(app):
    """The review page's operator name field, in an AppTest (its key changes each time it is drawn anew)."""
    return next(field for field in app.text_input if field.label == "Your operator name")


def listing_row(uniq_id: str, category: str, description: str = "a product", image: str | None = None) -> dict:
    return {
        "uniq_id": uniq_id,
        "product_name": f"Product {uniq_id}",
        "product_category_tree": f'["{category} >> Sub >> Leaf"]',
        "image": image or f"{uniq_id}.jpg",
        "description": description,
    }


WORDS = {
    "Watches": "analog wrist watch strap dial men women",
    "Computers": "usb laptop keyboard mouse router wifi adapter",
    "Baby Care": "baby infant diaper soft cotton romper kids",
}


@pytest.fixture
def small_data_dir(tmp_path, monkeypatch):
    """A 3-category, 30-listing dataset with distinct vocabularies, set as the data folder."""
    rows = []
    for category, words in WORDS.items():
        vocabulary = words.split()
        for i in range(10):
            text = " ".join(vocabulary[(i + j) % len(vocabulary)] for j in range(5))
            rows.append(listing_row(f"{category[:2]}{i}", category, description=text))
    folder = write_dataset(tmp_path / "data", rows)
    monkeypatch.setenv("VITRINE_DATA_DIR", str(folder))
    return folder


HOSTILE = ["[Click me](http://evil.example/x)", "![x](http://evil.example/y.png)", "<img src=http://evil.example/z>",
           "http://evil.example/bare", ":material/home:", "**bold**", "$x$"]
OPERATOR = "[op](http://evil.example/op)"


@pytest.fixture(scope="session")
def hostile_app(tmp_path_factory) -> dict:
    """A data folder whose category, product and folder names and descriptions are all hostile, a
    tfidf run on it (with mistakes to review) and an answer saved by an operator with a hostile name:
    the environment variables that point the app at them, and the categories."""
    from core.results_store import ResultsStore
    from core.review.answer_store import ReviewStore
    from core.runs import run_scenario
    from core.scenarios.tfidf import TfidfScenario

    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    vocabulary = "steel cotton blue red soft large small round leather plastic glass wooden green black white".split()
    rows = []
    for c, category in enumerate(HOSTILE):  # words drawn at random, so that tfidf makes mistakes
        for i in range(8):
            words = rng.choice(vocabulary, 6).tolist() + [f"signal{c if rng.random() < 0.6 else (c + 1) % 7}"]
            row = listing_row(f"H{c}x{i}", category, description=f"{HOSTILE[(c + i) % 7]} {' '.join(words)}")
            rows.append({**row, "product_name": f"{HOSTILE[(c + i + 1) % 7]} no. {i}"})
    rows.append({**listing_row("Hbad", "x"), "product_category_tree": "[" + HOSTILE[0]})  # a row problem
    data = write_dataset(root / "[data](http:evil.example)", rows)
    dataset = load_dataset(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VITRINE_WORK_DIR", str(root / "work"))
        result = run_scenario(TfidfScenario(), dataset, ResultsStore(root / "work" / "results"))
    store = ReviewStore(f"sqlite:///{root / 'reviews.sqlite'}")
    store.save(OPERATOR, result.misclassified()["uniq_id"].iloc[-1], HOSTILE[1], True, comment=HOSTILE[2])
    return {"VITRINE_DATA_DIR": str(data), "VITRINE_WORK_DIR": str(root / "work"), "VITRINE_REVIEW_DB": store.url,
            "categories": dataset.categories}


@pytest.fixture
def vocabularies(tmp_path):
    """30 listings of 3 categories with distinct vocabularies; the Watches have ids of digits only."""
    rows = []
    for category, words in WORDS.items():
        vocabulary = words.split()
        for i in range(10):
            text = " ".join(vocabulary[(i + j) % len(vocabulary)] for j in range(5))
            uniq_id = f"00{i}" if category == "Watches" else f"{category[:2]}{i}"
            rows.append(listing_row(uniq_id, category, description=text))
    return load_dataset(write_dataset(tmp_path / "data", rows))


class Overlap:
    """How many calls are inside ``held`` at once, and the most there ever were."""

    def __init__(self):
        self.running = self.most = 0
        self._lock = threading.Lock()

    @contextmanager
    def held(self, seconds: float = 0.05):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(seconds)  # long enough for the others to arrive, if they may
            yield
        finally:
            with self._lock:
                self.running -= 1
