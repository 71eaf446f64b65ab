"""A batch, its output and its photos can never cost the user a file, leak one, or end in a traceback."""
import csv
import errno
import io
import os
import socket
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from core import archive
from core.actions.classify import classify_upload
from core.calibration import Promise
from core.classify import job
from core.classify.batch_input import open_batch
from core.cli import EXIT_DATA, main
from core.dataset import load_dataset
from core.exports import read_csv, spreadsheet_safe, write_csv
from core.workspace import Workspace

BATCH = "id,description\n1,steel watch with leather strap\n2,cotton bath towel\n"


def _batch(folder, text=BATCH, name="batch.csv"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("spelling", ["same", "link", "dotted", "folder"])
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(small_data_dir, tmp_path, capsys, spelling):
    path = _batch(tmp_path / "in")
    source, out = str(path), str(path)
    if spelling == "link":
        (tmp_path / "alias.csv").symlink_to(path)
        out = str(tmp_path / "alias.csv")
    elif spelling == "dotted":
        out = str(tmp_path / "in" / ".." / "in" / "batch.csv")
    elif spelling == "folder":
        source = str(tmp_path / "in")  # the folder's listings CSV is the input
    assert main(["classify", source, "--out", out]) == EXIT_DATA
    said = capsys.readouterr().err
    assert "is the input itself" in said and "tfidf on " not in said  # before the classifier loads
    assert path.read_text(encoding="utf-8") == BATCH


def test_an_output_folder_that_cannot_be_written_is_said_before_the_classifier_loads(small_data_dir, tmp_path,
                                                                                     capsys):
    path = _batch(tmp_path)
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    assert main(["classify", str(path), "--out", str(tmp_path / "a-file" / "out.csv")]) == EXIT_DATA
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "Traceback" not in said
    blocking = tmp_path / "a-file"
    assert f"The output cannot be written in {blocking}: {blocking} is a file, not a folder" in said
    assert "tfidf on " not in said


def test_a_write_that_fails_late_is_one_line_and_keeps_the_earlier_output(small_data_dir, tmp_path, capsys,
                                                                          monkeypatch):
    path = _batch(tmp_path)
    out = tmp_path / "out.csv"
    out.write_text("yesterday's answers", encoding="utf-8")

    def disk_full(self, frame):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(job.OutputWriter, "write", disk_full)
    assert main(["classify", str(path), "--out", str(out)]) == EXIT_DATA
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.startswith("error: The output ") and "No space left on device" in said
    assert out.read_text(encoding="utf-8") == "yesterday's answers"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_every_text_cell_is_quoted_and_formulas_are_text_whatever_the_column_type(tmp_path):
    hostile = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "plain"]
    frame = pd.DataFrame({
        "object": pd.Series(hostile, dtype=object),
        "arrow": pd.Series(hostile, dtype=pd.ArrowDtype(pa.string())),  # as Ray's batches give them
        "category": pd.Series(hostile, dtype="category"),
        "number": range(7),
    })
    assert spreadsheet_safe(frame)["arrow"].tolist()[:6] == ["'" + h for h in hostile[:6]]
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))  # a spreadsheet splitting on ';' sees whole quoted cells
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    with path.open(encoding="utf-8") as handle:
        next(handle)
        assert next(handle).startswith('"\'=HYPERLINK(""http://x"")",')  # the text cell is quoted
    assert read_csv(path)["arrow"].tolist() == hostile  # and reads back as it was


def test_the_command_lines_csv_quotes_its_text_cells(small_data_dir, tmp_path):
    path = _batch(tmp_path, "id,description\n=1+1,steel watch\n")
    assert main(["classify", str(path), "--out", str(tmp_path / "out.csv")]) == 0
    second = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[1]
    assert second.startswith('"\'=1+1","')


def test_a_photo_name_looked_up_in_a_linked_images_folder_never_leaves_the_batch(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    Image.new("RGB", (8, 8), "red").save(outside / "secret.jpg")
    folder = tmp_path / "batch"
    _batch(folder, "id,description,photo\n1,red watch,secret.jpg\n2,mug,passwd\n", name="listings.csv")
    (folder / "images").symlink_to(outside)
    (outside / "passwd").write_text("root:x:0:0", encoding="utf-8")
    with open_batch(folder) as batch:
        [chunk] = list(batch.chunks())
    assert chunk.photos == [None, None]
    assert chunk.photo_problems == ["its path 'secret.jpg' in images/ leaves the batch's folder",
                                    "its path 'passwd' in images/ leaves the batch's folder"]


def test_a_csv_with_excels_byte_order_mark_is_read(small_data_dir, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + BATCH.encode())
    assert main(["classify", str(path), "--out", str(tmp_path / "out.csv")]) == 0
    assert pd.read_csv(tmp_path / "out.csv", dtype=str)["id"].tolist() == ["1", "2"]


def test_parquet_bytes_and_lists_are_read_as_text(small_data_dir, tmp_path):
    table = pa.table({
        "id": pa.array([b"b1", b"b2", b"b3"], pa.binary()),
        "description": pa.array([b"steel watch with leather strap", b"\xff\xfe cotton towel", None], pa.binary()),
        "name": pa.array([["analog", "watch"], ["towel"], ["baby", "blanket"]]),
    })
    pq.write_table(table, tmp_path / "batch.parquet")
    with open_batch(tmp_path / "batch.parquet") as batch:
        [chunk] = list(batch.chunks())
    assert chunk.ids == ["b1", "b2", "b3"]
    assert chunk.names == ["analog watch", "towel", "baby blanket"]
    assert chunk.descriptions[0] == "steel watch with leather strap" and "b'" not in chunk.descriptions[1]
    assert chunk.row_problems == [None, "the row is not valid UTF-8 text (save the file as UTF-8)", None]


def test_a_ray_cluster_that_does_not_answer_is_named_within_seconds(small_data_dir, tmp_path, capsys, monkeypatch):
    pytest.importorskip("ray", reason="Ray is installed by the test command (requirements-scale.txt)")
    with socket.socket() as probe:  # a port on this machine that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    path = _batch(tmp_path)
    assert main(["classify", str(path), "--engine", "ray", "--out", str(tmp_path / "out.csv")]) == EXIT_DATA
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.startswith(f"error: The Ray cluster at 127.0.0.1:{port} ($RAY_ADDRESS) refused the connection")
    assert not (tmp_path / "out.csv").exists()


def _zip_batch(path, photos: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as packed:
        names = list(photos)
        packed.writestr("listings.csv", "id,description,photo\n" + "".join(
            f"r{i},steel watch,{name}\n" for i, name in enumerate(names)))
        for name, data in photos.items():
            packed.writestr(f"images/{name}", data)
    return path


def _jpeg(colour="red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_damaged_photo_in_a_zip_costs_its_row_not_the_batch(tmp_path):
    good, bad = _jpeg("red"), _jpeg("blue")
    path = _zip_batch(tmp_path / "batch.zip", {"good.jpg": good, "bad.jpg": bad})
    data = bytearray(path.read_bytes())
    at = data.index(bad) + len(bad) // 2
    data[at] ^= 0xFF  # its stored bytes no longer match their CRC
    path.write_bytes(bytes(data))
    with open_batch(path) as batch:
        [chunk] = list(batch.chunks())
        assert chunk.photos[0].read_bytes() == good and chunk.photos[1] is None
    assert chunk.photo_problems[1].startswith("the photo bad.jpg cannot be unpacked: Bad CRC-32")
    assert chunk.photo_problems[1].endswith("; it was left in the zip")


def test_a_zip_of_too_many_files_is_refused_before_unpacking(small_data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(archive, "MAX_MEMBERS", 5)
    path = _zip_batch(tmp_path / "batch.zip", {f"{i}.jpg": b"x" for i in range(6)})
    assert main(["classify", str(path), "--out", str(tmp_path / "out.csv")]) == EXIT_DATA
    assert "holds 7 files, more than the 5 a zip may hold" in capsys.readouterr().err


def test_a_scenario_that_reads_no_photo_leaves_a_zips_photos_packed(tmp_path):
    path = _zip_batch(tmp_path / "batch.zip", {"a.jpg": _jpeg(), "b.jpg": _jpeg()})
    with open_batch(path, photos=False) as batch:
        assert [p for p in batch.folder.rglob("*") if p.is_file()] == [batch.path]
    with open_batch(path) as batch:
        assert sorted(p.name for p in batch.folder.rglob("*.jpg")) == ["a.jpg", "b.jpg"]


def test_an_uploaded_photos_zip_with_one_photo_too_large_costs_that_row_only(small_data_dir, monkeypatch):
    monkeypatch.setattr(archive, "MAX_PHOTO_BYTES", 2_000)
    large = io.BytesIO()
    Image.effect_noise((200, 200), 80).convert("RGB").save(large, format="JPEG", quality=95)
    photos = io.BytesIO()
    with zipfile.ZipFile(photos, "w") as packed:
        packed.writestr("small.jpg", _jpeg())
        packed.writestr("large.jpg", large.getvalue())
    listings = b"id,description,photo\nu1,steel watch,small.jpg\nu2,bath towel,large.jpg\n"
    dataset = load_dataset()
    run = classify_upload(Workspace.from_environment(), "new.csv", listings, ("photos.zip", photos.getvalue()), "tfidf",
                          dataset, Promise(0.99))
    try:
        assert run.summary.rows == 2 and run.summary.classified == 2
        [chunk] = list(run.batch.chunks())
        assert chunk.photos[0] is not None and chunk.photos[1] is None
        assert chunk.photo_problems[1] == ("the photo large.jpg is larger than 0.002 MB, the most accepted; it was "
                                           "left in the zip")
    finally:
        run.discard()


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_spreadsheet_splitting_on_another_separator_finds_no_formula_inside_a_text_cell(tmp_path, separator):
    hostile = ["a;=cmd|' /C calc'!A0", "b;@SUM(1+1)", "text;\t=tabsemi", "c; -2", 'd;"=1+1', "e\t+1", "f;'=x",
               "plain; text", "g;''"]
    frame = pd.DataFrame({"id": [str(i) for i in range(len(hostile))], "product": hostile, "n": range(len(hostile))})
    path = tmp_path / "download.csv"
    write_csv(frame, path)
    with path.open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle, delimiter=separator) for cell in row]
    assert [cell for cell in cells if cell.lstrip(" \"").startswith(("=", "+", "-", "@", "\t", "\r"))] == []
    assert read_csv(path, dtype={"id": str})["product"].tolist() == hostile  # and it reads back as it was


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_batch_of_a_header_alone_gets_an_output_with_its_columns(small_data_dir, tmp_path, capsys, suffix):
    path = _batch(tmp_path, "id,description\n")
    out = tmp_path / f"out{suffix}"
    assert main(["classify", str(path), "--out", str(out)]) == 0
    assert "0 row(s)" in capsys.readouterr().out
    written = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert len(written) == 0 and list(written.columns)[:3] == ["id", "predicted", "confidence"]
