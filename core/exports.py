"""CSV files that people open in a spreadsheet. Every CSV the app offers for download or the command
line writes goes through here, so that no text from listings, operators or sellers can run as a
formula (CSV injection, as OWASP describes it): a text cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading single quote, so the spreadsheet shows it as text. Text cells
are quoted, and a spreadsheet that splits lines on ``;`` or tabs (as much of Europe's does) still cuts
inside them: there, after each such separator in the text, the same mark goes before what would start a
formula, so no piece of a cell can start one either.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"
# Where a spreadsheet splitting on ';' or tabs would start a piece of a cell that reads as a formula (spaces
# and a quote before it count for nothing), or that starts with the mark itself (so it reads back as it was).
_STARTS_A_FORMULA = r"(?=\s*[=+\-@\t\r'\"])"
_AFTER_SEPARATOR = re.compile(r"(?<=[;\t])" + _STARTS_A_FORMULA)
_MARK_AFTER_SEPARATOR = re.compile(r"(?<=[;\t])'" + _STARTS_A_FORMULA)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot start a formula; numbers, booleans and dates stay as they are.

    Every column that may hold text is looked at, whatever its dtype (object, pandas' string types,
    Arrow strings as Ray and Parquet give them, categories): a cell is text by its value, not its column.
    Text that already starts with a single quote gets one more, so ``read_csv`` gives every cell
    back exactly as it was."""
    safe = frame.copy()
    for column in safe.columns:
        if not _never_text(safe[column].dtype):
            safe[column] = safe[column].astype(object).map(_safe_cell)
    return safe


def to_csv_text(frame: pd.DataFrame, header: bool = True) -> str:
    """The table as spreadsheet-safe CSV text; text cells are quoted too, so a spreadsheet that splits
    on another separator (``;`` in much of Europe) cannot start a new cell inside one."""
    return spreadsheet_safe(frame).to_csv(index=False, header=header, quoting=csv.QUOTE_NONNUMERIC)


def write_csv(frame: pd.DataFrame, path: Path, append: bool = False) -> None:
    """Write the table as a spreadsheet-safe CSV file; with ``append``, add its rows (no header) at the
    end of one written so."""
    with path.open("a" if append else "w", encoding="utf-8", newline="") as out:
        out.write(to_csv_text(frame, header=not append))


def read_csv(path: Path, **options) -> pd.DataFrame:
    """A table written by ``write_csv``, its cells as they were before the single quotes were added;
    ``options`` go to ``pandas.read_csv``."""
    return original_cells(pd.read_csv(path, **options))


def original_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A table read back from spreadsheet-safe CSV (a chunk of it, say), its text cells as they were
    before the single quotes were added."""
    for column in frame.select_dtypes(include=["object", "string", "str"]).columns:
        frame[column] = frame[column].map(_original_cell)
    return frame


def _never_text(dtype) -> bool:
    """Whether a column of this dtype cannot hold a string (numbers, booleans, dates, durations)."""
    return (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype))


def _safe_cell(value):
    if not isinstance(value, str):
        return value
    value = _AFTER_SEPARATOR.sub(TEXT_MARK, value)
    return TEXT_MARK + value if value.startswith((*FORMULA_STARTS, TEXT_MARK)) else value


def _original_cell(value):
    if not isinstance(value, str):
        return value
    if value.startswith(TEXT_MARK):
        value = value[len(TEXT_MARK):]
    return _MARK_AFTER_SEPARATOR.sub("", value)
