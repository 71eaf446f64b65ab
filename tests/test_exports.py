"""CSV files for people: no text cell can run as a formula in a spreadsheet, numbers stay numbers."""
import csv
import io

import numpy as np
import pandas as pd

from core.exports import FORMULA_STARTS, read_csv, to_csv_text, write_csv

HOSTILE = ['=HYPERLINK("http://evil.example/x","Click me")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1",
           "'=already marked"]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_text_that_would_start_a_formula_is_shown_as_text_and_numbers_stay_numbers():
    frame = pd.DataFrame({"comment": HOSTILE + ["a = b", "plain"], "score": [-1.5] * 9, "count": range(9),
                          "in_doubt": [True] * 9})
    [header, *rows] = cells(to_csv_text(frame))
    assert header == ["comment", "score", "count", "in_doubt"]
    # after the tab (a separator too), the formula is marked again: "'\t'=1+1"
    assert [row[0] for row in rows] == ["'" + text.replace("\t=", "\t'=") for text in HOSTILE] + ["a = b", "plain"]
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)
                and cell != "-1.5"]  # a negative number is a number, not a formula
    read_back = pd.read_csv(io.StringIO(to_csv_text(frame)))
    assert read_back["score"].tolist() == [-1.5] * 9 and read_back["count"].tolist() == list(range(9))


def test_a_written_table_reads_back_as_it_was(tmp_path):
    frame = pd.DataFrame({"category": HOSTILE + ["Watches"], "word": ["strap"] * 8, "score": [0.25] * 8})
    path = tmp_path / "keywords.csv"
    write_csv(frame, path)
    assert not [cell for row in cells(path.read_text()) for cell in row if cell.startswith(FORMULA_STARTS)]
    pd.testing.assert_frame_equal(read_csv(path, dtype={"category": str, "word": str}, keep_default_na=False),
                                  frame, check_dtype=False)


def test_rows_appended_to_a_written_table_read_back_after_it_under_one_header(tmp_path):
    path = tmp_path / "classified.csv"
    write_csv(pd.DataFrame({"id": ["a1"], "category": ["=Watches"]}), path)
    write_csv(pd.DataFrame({"id": ["b2"], "category": ["Baby Care"]}), path, append=True)
    assert path.read_text(encoding="utf-8").count('"id"') == 1
    assert read_csv(path)[["id", "category"]].values.tolist() == [["a1", "=Watches"], ["b2", "Baby Care"]]


def test_reading_back_passes_its_options_to_pandas(tmp_path):
    path = tmp_path / "words.csv"
    write_csv(pd.DataFrame({"word": ["NA", "strap"]}), path)
    assert read_csv(path, keep_default_na=False)["word"].tolist() == ["NA", "strap"]  # a word, not a gap



def test_single_precision_numbers_are_written_as_they_show_not_widened():
    # Parquet batches and model outputs hold float32 columns: 0.1 stays "0.1", not 0.10000000149011612.
    frame = pd.DataFrame({"price": np.array([0.1, 19.99], dtype=np.float32),
                          "stock": np.array([3, 250], dtype=np.uint8), "name": ["=cheap", "plain"]})
    [_, *rows] = cells(to_csv_text(frame))
    assert rows == [["0.1", "3", "'=cheap"], ["19.99", "250", "plain"]]
