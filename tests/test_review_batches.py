"""A classified batch's flagged listings sent to the operators' review queue."""
import io
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from core.actions.classify import classify_upload
from core.archive import extract_photos_zip
from core.calibration import Promise
from core.classify.batch_input import open_batch
from core.cli import main
from core.dataset import load_dataset
from core.errors import ArchiveError
from core.review import batches
from core.review.answer_store import MAX_ID_CHARS, ReviewStore
from core.review.batches import (
    product_name_of,
    review_key,
    send_to_review,
    sent_batch,
    sent_batches,
)
from core.review.queues import batch_queue, review_queues
from core.runs import run_scenario
from core.scenarios.tfidf import TfidfScenario
from core.workspace import Workspace
from tests.conftest import listing_row, write_dataset


def _batches() -> Path:
    """The batches folder of the test's workspace."""
    return Workspace.from_environment().batches


def _batch(folder: Path) -> Path:
    """Listings of the small data set's words plus ones nobody can place, a photo for some."""
    folder.mkdir()
    Image.new("RGB", (1200, 900), "red").save(folder / "big.jpg")
    rows = ["id,product_name,description,photo",
            "w1,Analog watch,analog wrist watch strap dial,big.jpg",
            "x1,Mystery,zzz qqq vvv,big.jpg",
            "x1,Mystery again,zzz qqq vvv,",
            "x2,,,big.jpg",
            "x3,,,",
            "x4,Too,many,fields,here",
            "c1,Router,usb laptop keyboard mouse router,"]
    path = folder / "new listings.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def classified(small_data_dir, tmp_path, capsys):
    """The batch classified by tfidf on the small data set, with its output beside it."""
    path = _batch(tmp_path / "batch")
    out = tmp_path / "out.csv"
    assert main(["classify", str(path), "--out", str(out), "--precision", "1"]) == 0
    capsys.readouterr()
    return path, out


def test_review_keys_never_equal_a_reference_id_and_fit_the_store():
    reference_id = "c2d766ca982eca8304150849735ffef9"
    key = review_key("0a1b2c3d", 4, reference_id)
    assert key != reference_id and key == f"batch:0a1b2c3d:4:{reference_id}"
    assert review_key("0a1b2c3d", 5, reference_id) != key  # the same id twice in a batch: two keys
    long = review_key("0a1b2c3d", 12, "x" * 200)
    assert len(long) <= MAX_ID_CHARS and long.startswith("batch:0a1b2c3d:12:#")
    assert long != review_key("0a1b2c3d", 12, "x" * 199)


def test_flagged_rows_with_something_to_show_are_sent_with_their_photo_copied(classified, tmp_path):
    path, out = classified
    with open_batch(path) as batch:
        sent = send_to_review(_batches(), batch, out, "tfidf", chunk_rows=2)
    output = pd.read_csv(out, dtype={"id": str}, keep_default_na=False)
    table = sent.table()
    flagged_rows = [i for i in output.index[output["needs_review"]] if i not in (4, 5)]  # x3: empty; x4: broken
    assert table["row"].tolist() == flagged_rows and "x4" not in set(table["id"]) and "x3" not in set(table["id"])
    assert table["key"].is_unique and all(k.startswith(f"batch:{sent.batch_id}:") for k in table["key"])
    assert (sent.rows, sent.flagged, sent.scenario, sent.name) == (7, len(flagged_rows), "tfidf", "new listings.csv")
    x2 = table[table["id"] == "x2"].iloc[0]  # not classified (no text) but a photo to show: sent
    assert x2["status"].startswith("not classified") and pd.isna(x2["predicted"])
    shutil.rmtree(tmp_path / "batch")  # the upload is gone: the queue still shows the photo
    photo = sent.photo(x2["photo"])
    assert max(photo.size) == 480 and Path(sent.folder / "photos" / x2["photo"]).is_file()
    assert json.loads((sent.folder / "manifest.json").read_text())["batch_id"] == sent.batch_id
    assert sent_batches(_batches()) == [sent] and sent_batch(_batches(), sent.batch_id) == sent
    assert [p.name for p in _batches().iterdir()] == [sent.batch_id]  # no staging folder left


def test_a_review_key_is_named_by_its_product_wherever_it_was_answered(classified, reference_dataset):
    path, out = classified
    with open_batch(path) as batch:
        sent = send_to_review(_batches(), batch, out, "tfidf")
    row = sent.table().iloc[0]
    assert product_name_of(row["key"], reference_dataset.listings, _batches()) == row["product_name"]
    listing = reference_dataset.listings.iloc[0]
    assert product_name_of(listing["uniq_id"], reference_dataset.listings, _batches()) == listing["product_name"]
    sent.remove()
    # The batch is gone: its key.
    assert product_name_of(row["key"], reference_dataset.listings, _batches()) == row["key"]


def test_a_send_that_fails_midway_leaves_no_batch(classified, monkeypatch):
    path, out = classified
    def fail(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(batches, "_copy_photo", fail)
    with open_batch(path) as batch, pytest.raises(OSError):
        send_to_review(_batches(), batch, out, "tfidf")
    assert sent_batches(_batches()) == [] and list(_batches().iterdir()) == []


def test_classify_to_review_prints_the_batch_and_the_queue_serves_it(small_data_dir, reference_dataset, tmp_path,
                                                                      capsys):
    path = _batch(tmp_path / "batch")
    assert main(["classify", str(path), "--out", str(tmp_path / "out.parquet"), "--precision", "1",
                 "--to-review"]) == 0
    [sent] = sent_batches(_batches())
    assert f"{sent.flagged} listing(s) sent to review as batch {sent.batch_id}" in capsys.readouterr().out
    queue = review_queues(reference_dataset, {}, _batches())[sent.title()]()
    assert queue.is_batch and queue.scenario == "tfidf" and queue.items["true"].isna().all()
    assert "Mystery" in queue.items["product_name"].tolist()  # the batch's own name for it, for the list
    shown = queue.listing(f"batch:{sent.batch_id}:1:x1")
    assert (shown.name, shown.description) == ("Mystery", "zzz qqq vvv")
    assert shown.photo().size == (480, 360)


def test_a_batch_answer_is_kept_apart_from_reference_answers_in_both_summaries(small_data_dir, tmp_path, capsys):
    dataset = load_dataset()
    result = run_scenario(TfidfScenario(), dataset, Workspace.from_environment().results_store())
    # a batch row whose id is a reference listing's id
    folder = write_dataset(tmp_path / "copy", [listing_row("Wa0", "Watches", "zzz qqq vvv")])
    path = folder / "listings.csv"
    for csv in folder.glob("*.csv"):
        csv.rename(path)
    assert main(["classify", str(path), "--out", str(tmp_path / "o.parquet"), "--precision", "1", "--to-review"]) == 0
    [sent] = sent_batches(_batches())
    queues = review_queues(dataset, {"tfidf": result}, _batches())
    batch = queues[sent.title()]()
    [key] = batch.items["uniq_id"]
    assert key != "Wa0"
    store = ReviewStore(f"sqlite:///{tmp_path / 'reviews.sqlite'}")
    store.save("ana", key, "Computers", True, scenario="tfidf")
    store.save("ana", "Wa0", "Watches", False, scenario="tfidf")
    answers = store.active_frame()
    reference = queues["Test-split mistakes of tfidf"]().summary(answers)
    assert reference.decisions["uniq_id"].tolist() == ["Wa0"]
    mine = batch.summary(answers)
    assert mine.decisions["uniq_id"].tolist() == [key]
    assert mine.decisions["product"].tolist() == ["Product Wa0"]  # the batch's own name for it
    assert mine.per_category[["category", "answers", "doubt_rate"]].values.tolist() == [["Computers", 1, 1.0]]


def test_a_batch_with_nothing_flagged_adds_no_queue(small_data_dir, tmp_path, capsys):
    path = tmp_path / "clear.csv"
    path.write_text("id,description\nw1,analog wrist watch strap dial men\n", encoding="utf-8")
    assert main(["classify", str(path), "--precision", "0.5", "--to-review"]) == 0
    assert "no listing needs review: nothing was sent" in capsys.readouterr().out
    assert sent_batches(_batches()) == []
    unreadable = tmp_path / "unreadable.csv"  # flagged, but nothing in it can be shown to an operator
    unreadable.write_bytes(b"id,description\nw2,caf\xe9 mug\n")
    assert main(["classify", str(unreadable), "--precision", "0.5", "--to-review"]) == 0
    assert ("nothing was sent: the 1 row(s) that need review could not be read or have nothing to show an operator"
            in capsys.readouterr().out)
    assert sent_batches(_batches()) == []


def test_two_batches_of_the_same_name_sent_in_the_same_minute_are_two_queues(small_data_dir, tmp_path, capsys):
    path = tmp_path / "today.csv"
    path.write_text("id,product_name,description\nn1,Mystery box,zzz qqq vvv\n", encoding="utf-8")
    for _ in range(2):
        assert main(["classify", str(path), "--precision", "1", "--to-review"]) == 0
    queues = [label for label in review_queues(load_dataset(), {}, _batches()) if label.startswith("Batch today.csv")]
    sent_ids = {b.batch_id for b in sent_batches(_batches())}
    assert len(queues) == 2 and sent_ids == {q.rsplit("id ", 1)[1][:-1] for q in queues}


def _jpeg(size=(800, 600)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_photos_zip_lands_at_its_paths_and_nothing_leaves_the_folder(tmp_path):
    source = tmp_path / "photos.zip"
    with zipfile.ZipFile(source, "w") as packed:
        packed.writestr("photos/a.jpg", _jpeg())
        packed.writestr("b.png", _jpeg())
        packed.writestr("../escape.jpg", _jpeg())
        packed.writestr("notes.txt", "not a photo")
    folder = tmp_path / "upload"
    folder.mkdir()
    assert extract_photos_zip(source, folder) == {}  # nothing left packed
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == ["b.png", "photos/a.jpg"]
    assert not (tmp_path / "escape.jpg").exists()


def test_an_upload_with_its_photos_zip_is_classified_and_its_photos_reach_the_review_queue(small_data_dir):
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as packed:
        packed.writestr("photos/a.jpg", _jpeg())
        packed.writestr("photos/bad.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    listings = (b"id,description,photo\nq1,zzz qqq vvv,photos/a.jpg\nq2,zzz qqq,photos/gone.jpg\n"
                b"q3,zzz vvv,photos/bad.jpg\nq4,qqq vvv,\n")
    run = classify_upload(Workspace.from_environment(), "../../new [x].csv", listings,
                          ("photos.zip", zipped.getvalue()), "tfidf", load_dataset(), Promise(1.0))
    assert run.csv.parent == run.folder and run.csv.name == "new [x].csv"  # the user's name, without its folders
    assert run.summary.rows == 4 and run.output.is_file() and run.summary.unread_photos == "photo"
    sent = run.send_to_review(Workspace.from_environment())
    table = sent.table()
    assert sent.name == "../../new [x].csv" and table["id"].tolist() == ["q1", "q2", "q3", "q4"]
    assert sent.photo(table.loc[0, "photo"]).size == (480, 360) and table.loc[1:, "photo"].isna().all()
    # tfidf reads no photo, so its statuses are "ok"; the operator is still told why a photo is not shown
    shown = [batch_queue(sent).listing(key).no_photo for key in table["key"]]
    assert shown[1:] == ["The seller's photo could not be used: the file 'photos/gone.jpg' is not there.",
                         "The seller's photo could not be used: the photo file is damaged or incomplete and cannot "
                         "be read (bad.jpg).", "No photo for this listing."]
    run.discard()
    assert not run.folder.exists() and sent.photo(table.loc[0, "photo"]) is not None


def test_an_upload_whose_photos_zip_is_no_zip_is_named_as_the_user_named_it(small_data_dir):
    with pytest.raises(ArchiveError, match=r"^my photos \(june\)\.zip is not a readable zip file"):
        classify_upload(Workspace.from_environment(), "new.csv", b"id,description\nq1,mug\n",
                        ("my photos (june).zip", b"not a zip"), "tfidf", load_dataset(), Promise(1.0))
