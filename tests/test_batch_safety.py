"""A batch, its output and its photos can never cost the user a file, leak one, or end in a traceback."""
import csv
import errno
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from core.classify import job
from core.classify.batch_input import open_batch
from core.cli import EXIT_DATA, main
from core.exports import read_csv, spreadsheet_safe, write_csv

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
    assert said.count("\n") == 1 and "The output cannot be written in" in said and "Traceback" not in said
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
