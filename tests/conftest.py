"""Shared fixtures: the reference data, a private work folder per test, hand-made datasets."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from PIL import Image

from core.dataset import REQUIRED_COLUMNS, load_dataset
from core.escaping import WORD_JOINER
from core.locations import CSV_NAME, REPO_ROOT

REFERENCE_DATA = REPO_ROOT.parent / "shared" / "data" / "flipkart"


@pytest.fixture(autouse=True)
def private_work_dir(tmp_path_factory, monkeypatch):
    """Every test writes results, caches and reviews into its own folder."""
    work = tmp_path_factory.mktemp("work")
    monkeypatch.setenv("VITRINE_WORK_DIR", str(work))
    monkeypatch.setenv("VITRINE_DATA_DIR", str(REFERENCE_DATA))
    return work


@pytest.fixture(scope="session")
def reference_dataset():
    if not REFERENCE_DATA.is_dir():
        pytest.skip("the shared reference data is not beside the repository")
    return load_dataset(REFERENCE_DATA)


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
