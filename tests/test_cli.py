import argparse
import csv
import json
import zipfile
from pathlib import Path

import pytest

from core import locations
from core.cli import EXIT_DATA, build_parser, main
from core.locations import CSV_NAME, SAMPLE_DATA_DIR, SAMPLE_NOTICE, data_dir
from tests.conftest import WORDS, listing_row, needs_reference_data, write_dataset

JSON_KEYS = {"scenario", "train_accuracy", "test_accuracy", "macro_f1", "cv_mean", "cv_std", "seconds",
             "target_precision", "confidence_level", "cutoff_scope", "cutoff", "cutoffs_per_category",
             "test_accepted_share", "test_precision", "test_precision_interval", "promise_on_test"}


def test_run_json_prints_one_object_with_fractions(small_data_dir, capsys):
    assert main(["run", "tfidf", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    assert set(row) == JSON_KEYS and row["scenario"] == "tfidf"
    assert 0.0 <= row["test_accuracy"] <= 1.0 and row["seconds"] > 0


def test_run_all_prints_a_row_per_scenario_and_the_wall_time(small_data_dir, capsys):
    assert main(["run", "all"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("tfidf: train ") and "wall time for the scenarios" in out.err
    assert "reused" not in out.err
    assert main(["run", "all"]) == 0
    again = capsys.readouterr()
    assert "stored result reused" in again.out
    assert "stored results were reused, --force runs them again" in again.err  # why the time is short


@needs_reference_data
def test_data_report_names_the_missing_photos(capsys):
    assert main(["data", "report"]) == 0
    out = capsys.readouterr().out
    assert "1050 listings in 7 categories" in out
    assert "994f1d8ade16b9fddce3c127eb7f38ed.jpg" in out and "share_over_77_a" in out


def test_a_clone_without_data_finds_the_shipped_sample_last(tmp_path, monkeypatch):
    monkeypatch.delenv("VITRINE_DATA_DIR")
    monkeypatch.setattr(locations, "REPO_ROOT", tmp_path / "clone")  # no data/flipkart, no ../shared
    assert data_dir() == SAMPLE_DATA_DIR
    own = write_dataset(tmp_path / "clone" / "data" / "flipkart", [listing_row("W0", "Watches")])
    assert data_dir() == own


def test_data_report_on_the_sample_says_so_first_and_how_to_get_the_full_set(monkeypatch, capsys):
    monkeypatch.setenv("VITRINE_DATA_DIR", str(SAMPLE_DATA_DIR))
    assert main(["data", "report"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == SAMPLE_NOTICE and "python -m core data download" in lines[0]
    assert lines[1] == "140 listings in 7 categories"


def test_tfidf_trains_and_is_scored_on_the_sample(monkeypatch, capsys):
    monkeypatch.setenv("VITRINE_DATA_DIR", str(SAMPLE_DATA_DIR))
    assert main(["run", "tfidf", "--json"]) == 0
    out = capsys.readouterr()
    assert 0.5 < json.loads(out.out)["test_accuracy"] <= 1.0
    assert "small sample shipped with Vitrine" in out.err


def test_missing_data_exits_non_zero_with_instructions(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VITRINE_DATA_DIR", str(tmp_path / "nowhere"))
    assert main(["run", "tfidf"]) == EXIT_DATA
    err = capsys.readouterr().err
    assert "No product listings were found" in err and "python -m core data import" in err


def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand the parser knows, found by walking it (none can be forgotten)."""
    paths = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                paths += _command_paths(child, (*path, name))
    return paths


def test_every_command_and_subcommand_has_help(capsys):
    paths = _command_paths(build_parser())
    assert ("models", "download") in paths and ("explain", "faithfulness") in paths and ("data", "download") in paths
    for path in paths:
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([*path, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: python -m core {' '.join(path)}".rstrip()), path
        assert len(out.splitlines()) > 2, path  # a description or options, not the usage line alone


def _original_layout_zip(tmp_path):
    rows = [listing_row(f"{c}{i}", c) for c in ("Watches", "Computers") for i in range(5)]
    source = write_dataset(tmp_path / "src", rows)
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(source / CSV_NAME, f"dataset/{CSV_NAME}")
        z.writestr("dataset/Images/Watches0.jpg", b"jpeg bytes")
        z.writestr("dataset/Images/../../escape.jpg", b"never written")
    return archive


def test_import_from_zip_in_the_original_layout(tmp_path, monkeypatch, capsys):
    destination = tmp_path / "imported"
    monkeypatch.setenv("VITRINE_DATA_DIR", str(destination))
    assert main(["data", "import", str(_original_layout_zip(tmp_path))]) == 0
    assert "Imported 10 listings" in capsys.readouterr().out
    assert (destination / "images" / "Watches0.jpg").read_bytes() == b"jpeg bytes"
    assert not (tmp_path / "escape.jpg").exists() and not (destination / "escape.jpg").exists()
    # importing again does not silently replace what is there
    assert main(["data", "import", str(_original_layout_zip(tmp_path))]) == EXIT_DATA
    assert "--replace" in capsys.readouterr().err


def test_import_from_folder(tmp_path, monkeypatch):
    rows = [listing_row(f"{c}{i}", c) for c in ("Watches", "Computers") for i in range(5)]
    source = write_dataset(tmp_path / "src", rows)
    (source / "images").rename(source / "Images")
    (source / "Images" / "Watches1.jpg").write_bytes(b"x")
    destination = tmp_path / "imported"
    monkeypatch.setenv("VITRINE_DATA_DIR", str(destination))
    assert main(["data", "import", str(source)]) == 0
    assert (destination / "images" / "Watches1.jpg").exists()


def test_data_left_with_one_category_is_refused_with_the_reason_and_still_reported(tmp_path, monkeypatch, capsys):
    rows = [listing_row(f"W{i}", "Watches") for i in range(6)]
    rows += [{**listing_row(f"X{i}", "Computers"), "product_category_tree": "not a tree"} for i in range(6)]
    monkeypatch.setenv("VITRINE_DATA_DIR", str(write_dataset(tmp_path, rows)))
    assert main(["run", "tfidf"]) == EXIT_DATA
    assert "at least 2 categories" in capsys.readouterr().err
    assert main(["data", "report"]) == 0  # the report is how to find out what went wrong
    assert "6 row problem(s)" in capsys.readouterr().out


def test_keywords_csv_shows_formula_like_category_names_as_text(tmp_path, monkeypatch, capsys):
    categories = {'=HYPERLINK("http://evil.example/x","Watches")': WORDS["Watches"], "@Computers": WORDS["Computers"],
                  "Baby Care": WORDS["Baby Care"]}
    rows = [listing_row(f"K{n}{i}", category, " ".join(words.split()[i % 3:i % 3 + 5]))
            for n, (category, words) in enumerate(categories.items()) for i in range(10)]
    monkeypatch.setenv("VITRINE_DATA_DIR", str(write_dataset(tmp_path / "data", rows)))
    assert main(["explain", "keywords", "--scenario", "tfidf", "--top", "3"]) == 0
    written = Path(capsys.readouterr().err.strip().splitlines()[-1].removeprefix("written to "))
    table = list(csv.DictReader(written.open(newline="", encoding="utf-8")))
    assert {row["category"] for row in table} == {"'" + name if name[0] in "=@" else name for name in categories}
