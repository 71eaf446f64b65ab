from pathlib import Path

import pytest

from core.dataset import load_dataset, main_category
from core.errors import DatasetError
from tests.conftest import listing_row, needs_reference_data, write_dataset

MISSING = {"994f1d8ade16b9fddce3c127eb7f38ed.jpg", "22ac36ba254a68d7dd6173f099771147.jpg",
           "c4ac93e194281d6d1450ffdaa52f5f99.jpg"}


@needs_reference_data
def test_reference_data_has_seven_balanced_categories_and_three_missing_photos(reference_dataset):
    listings = reference_dataset.listings
    assert len(listings) == 1050
    assert len(reference_dataset.categories) == 7
    assert set(listings["category"].value_counts()) == {150}
    assert set(reference_dataset.missing_images["image"]) == MISSING
    assert reference_dataset.problems == []


@pytest.mark.parametrize("tree, expected", [
    ('["Home Furnishing >> Curtains & Accessories >> Curtains"]', "Home Furnishing"),
    ('["Watches"]', "Watches"),
    ('  ["Baby Care >> x"]  ', "Baby Care"),
    ('["Home Furnishing >> unclosed', None),
    ("", None),
    ('[""]', None),
    ('[" >> Sub"]', None),
    ("Watches >> Wrist", None),
])
def test_main_category_is_first_level_or_none_when_malformed(tree, expected):
    assert main_category(tree) == expected


def _rows(n_per_category=5, categories=("Watches", "Computers")):
    return [listing_row(f"{c[0]}{i}", c) for c in categories for i in range(n_per_category)]


def test_missing_columns_are_named(tmp_path):
    folder = write_dataset(tmp_path, _rows(), columns=("uniq_id", "product_name", "image"))
    with pytest.raises(DatasetError, match="product_category_tree, description"):
        load_dataset(folder)


def test_bad_rows_are_reported_per_row_and_the_rest_loads(tmp_path):
    rows = _rows()
    rows.append({**listing_row("X1", "Watches"), "product_category_tree": '["broken'})
    rows.append(listing_row("W0", "Computers"))  # duplicate id
    rows.append(listing_row("", "Watches"))
    rows.append(listing_row("E1", "Watches", image="../../../etc/passwd"))
    dataset = load_dataset(write_dataset(tmp_path, rows))
    problems = {p.row: p.problem for p in dataset.problems}
    assert "malformed product_category_tree" in problems[11]
    assert "duplicate uniq_id (first on row 1)" in problems[12]
    assert "no uniq_id" in problems[13]
    assert "outside the images folder" in problems[14]
    assert len(dataset.listings) == 11
    assert dataset.listing("W0")["category"] == "Watches"  # the first row with the id wins
    assert dataset.listing("E1")["image_path"] is None


def test_a_category_too_small_to_cross_validate_is_left_out_and_said(tmp_path):
    rows = _rows() + [listing_row("T1", "Toys")]
    dataset = load_dataset(write_dataset(tmp_path, rows))
    assert dataset.categories == ["Computers", "Watches"]
    assert dataset.dropped_categories == {"Toys": 1}
    assert any("'Toys' has only 1 listing" in p.problem for p in dataset.problems)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    ("uniq_id,description\n1,caf\xe9\n".encode("latin-1"), "not UTF-8"),
])
def test_unreadable_csv_gives_a_clear_error(tmp_path, content, message):
    (tmp_path / "listings.csv").write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path)


def test_fingerprint_changes_when_a_photo_changes(tmp_path):
    from PIL import Image
    rows = _rows()
    folder = write_dataset(tmp_path, rows, images={"W0.jpg": Image.new("RGB", (8, 8), "red")})
    before = load_dataset(folder)
    Image.new("RGB", (8, 8), "blue").save(Path(folder) / "images" / "W0.jpg")
    after = load_dataset(folder)
    assert before.fingerprint != after.fingerprint
    assert before.listing("W0")["image_path"] is not None


def test_data_that_cannot_be_classified_says_why(tmp_path, reference_dataset):
    one = load_dataset(write_dataset(tmp_path / "one", [listing_row(f"W{i}", "Watches") for i in range(6)]))
    assert "at least 2 categories" in one.unusable_reason() and "only 'Watches'" in one.unusable_reason()
    broken = load_dataset(write_dataset(tmp_path / "none", [
        {**listing_row(f"X{i}", "Watches"), "product_category_tree": "not a tree"} for i in range(3)]))
    assert len(broken.listings) == 0 and "has none (0 usable listing(s), 3 row problem(s))" in broken.unusable_reason()
    assert reference_dataset.unusable_reason() is None
