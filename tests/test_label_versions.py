"""The operators' corrections as a new data version, and each scenario before and after."""
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from core.cli import EXIT_DATA, main
from core.dataset import load_dataset
from core.errors import DatasetError
from core.labels.versions import (
    CORRECTION_COLUMNS,
    apply_version,
    correction_rule,
    corrections_from_answers,
    read_corrections,
    version_names,
    write_version,
)
from core.review.answer_store import ReviewStore
from core.runs import run_scenario
from core.scenarios.tfidf import TfidfScenario
from core.split import assign_split
from core.workspace import Workspace


def _versions() -> Path:
    """The versions folder of the test's workspace."""
    return Workspace.from_environment().versions


def _answers(rows: list[tuple]) -> pd.DataFrame:
    """(operator, uniq_id, label, in_doubt) rows as the store's table gives them."""
    now = datetime.now(timezone.utc)
    return pd.DataFrame([{"id": i, "operator": op, "created_at": now, "uniq_id": uid, "label": label,
                          "in_doubt": doubt, "comment": "", "scenario": "tfidf"}
                         for i, (op, uid, label, doubt) in enumerate(rows)])


def test_only_sure_and_unanimous_answers_that_change_a_label_become_corrections(small_data_dir):
    dataset = load_dataset()
    ids = dataset.listings["uniq_id"].tolist()
    label = dict(zip(ids, dataset.listings["category"]))
    other = {uid: next(c for c in dataset.categories if c != label[uid]) for uid in ids}
    answers = _answers([
        ("ana", ids[0], other[ids[0]], False), ("bo", ids[0], other[ids[0]], False),  # sure and agree: corrected
        ("ana", ids[1], other[ids[1]], False), ("bo", ids[1], label[ids[1]], False),  # disagree
        ("ana", ids[2], other[ids[2]], True),  # in doubt
        ("ana", ids[3], label[ids[3]], False),  # agrees with the data set: nothing to correct
        ("ana", ids[4], label[ids[4]], False), ("ana", ids[4], other[ids[4]], False),  # her latest answer counts
        ("ana", f"batch:b1:0:{ids[5]}", other[ids[5]], False),  # a batch listing has no label to correct
    ])
    corrections = corrections_from_answers(answers, dataset)
    assert corrections["uniq_id"].tolist() == [ids[0], ids[4]]
    assert corrections.iloc[0][["old_label", "new_label", "operators"]].tolist() == [label[ids[0]], other[ids[0]],
                                                                                      "ana, bo"]
    assert corrections_from_answers(answers, dataset, min_operators=2)["uniq_id"].tolist() == [ids[0]]


def test_a_correction_says_when_its_latest_answer_was_given_in_utc_and_answers_on_gone_listings_count_for_nothing(
        small_data_dir):
    dataset = load_dataset()
    ids = dataset.listings["uniq_id"].tolist()
    label = dict(zip(ids, dataset.listings["category"]))
    other = {uid: next(c for c in dataset.categories if c != label[uid]) for uid in ids[:2]}
    answers = _answers([("ana", ids[0], other[ids[0]], False), ("bo", ids[0], other[ids[0]], False),
                        ("ana", ids[1], other[ids[1]], False),
                        ("ana", "gone1", dataset.categories[0], False)])  # a listing no longer in the data set
    # SQLite gives a time back without its zone (it is UTC); another database may give it in another zone.
    answers["created_at"] = [pd.Timestamp("2026-11-27 10:00:00"), pd.Timestamp("2026-11-27 09:30:00"),
                             pd.Timestamp("2026-11-27 12:00:00+01:00"), pd.Timestamp("2026-11-27 08:00:00")]
    corrections = corrections_from_answers(answers, dataset)
    assert list(corrections.columns) == CORRECTION_COLUMNS[:-1]  # all but applied_at, which writing adds
    assert corrections["uniq_id"].tolist() == ids[:2]
    assert corrections["answered_at"].tolist() == ["2026-11-27T10:00:00+00:00", "2026-11-27T11:00:00+00:00"]


def test_a_version_changes_labels_not_the_csv_and_keeps_the_original_split(small_data_dir):
    original = load_dataset()
    csv_bytes = original.csv_path.read_bytes()
    first = original.listings.iloc[0]
    new_label = next(c for c in original.categories if c != first["category"])
    corrections = pd.DataFrame([{"uniq_id": first["uniq_id"], "old_label": first["category"], "new_label": new_label,
                                 "operators": "ana", "answered_at": "2026-11-27T10:00:00+00:00"}])
    folder = write_version(_versions(), original, corrections, "fixed")
    assert version_names(_versions()) == ["fixed"] and (folder / "corrections.csv").is_file()
    corrected = apply_version(_versions(), load_dataset(), "fixed")
    assert original.csv_path.read_bytes() == csv_bytes
    assert corrected.fingerprint != original.fingerprint and corrected.version == "fixed"
    assert corrected.listings.iloc[0]["category"] == new_label
    assert corrected.listings.iloc[0]["original_category"] == first["category"]
    assert (assign_split(corrected.listings) == assign_split(original.listings)).all()
    with pytest.raises(DatasetError, match="are the data version fixed already: there is nothing new"):
        write_version(_versions(), original, corrections, "again")
    third = next(c for c in original.categories if c not in {new_label, first["category"]})
    other = corrections.assign(new_label=third)
    with pytest.raises(DatasetError, match="exists already"):
        write_version(_versions(), original, other, "fixed")
    assert version_names(_versions()) == ["fixed"]


def test_corrected_test_labels_never_train_and_compare_scores_both_ways(small_data_dir, tmp_path, capsys):
    original = load_dataset()
    split = assign_split(original.listings)
    test_rows = original.listings[split == "test"].head(2)
    store = ReviewStore(f"sqlite:///{Workspace.from_environment().reviews_db}")
    for _, row in test_rows.iterrows():
        store.save("ana", row["uniq_id"], next(c for c in original.categories if c != row["category"]), False)
    assert main(["labels", "apply", "--name", "test-only"]) == 0
    assert "2 correction(s) written as data version test-only" in capsys.readouterr().out

    results = Workspace.from_environment().results_store()
    before = run_scenario(TfidfScenario(), original, results)
    after = run_scenario(TfidfScenario(), apply_version(_versions(), original, "test-only"), results)
    # Only test labels changed: the model learnt from the same train labels, so it answers alike.
    assert before.predictions["predicted"].tolist() == after.predictions["predicted"].tolist()
    assert after.test_accuracy != before.test_accuracy  # scored against the corrected test labels

    assert main(["labels", "compare", "--version", "test-only"]) == 0
    out = capsys.readouterr().out
    assert "test labels changed" in out and "train labels changed" in out
    row = out.strip().splitlines()[-1].split()
    assert row[0] == "tfidf" and row[-2:] == ["2", "0"]


def test_apply_without_a_usable_answer_writes_nothing_and_says_the_rule(small_data_dir, capsys):
    ReviewStore(f"sqlite:///{Workspace.from_environment().reviews_db}")  # a review database, without any answer
    assert main(["labels", "apply"]) == EXIT_DATA
    assert "No answer meets the rule" in capsys.readouterr().err
    assert version_names(_versions()) == []


def test_every_command_runs_on_a_version_and_an_unknown_one_is_named(small_data_dir, capsys):
    original = load_dataset()
    first = original.listings.iloc[0]
    new_label = next(c for c in original.categories if c != first["category"])
    write_version(_versions(), original, pd.DataFrame([{"uniq_id": first["uniq_id"], "old_label": first["category"],
                                           "new_label": new_label, "operators": "ana", "answered_at": ""}]), "v2")
    assert main(["--data-version", "v2", "run", "tfidf"]) == 0
    store = Workspace.from_environment().results_store()
    assert store.load(TfidfScenario(), apply_version(_versions(), original, "v2").fingerprint)
    assert main(["--data-version", "nope", "run", "tfidf"]) == EXIT_DATA
    assert "no data version named 'nope'" in capsys.readouterr().err


def test_the_results_page_switches_versions_and_shows_before_and_after(small_data_dir):
    from streamlit.testing.v1 import AppTest

    from core.locations import REPO_ROOT

    original = load_dataset()
    test_row = original.listings[assign_split(original.listings) == "test"].iloc[0]
    write_version(_versions(), original, pd.DataFrame([{
        "uniq_id": test_row["uniq_id"], "old_label": test_row["category"], "operators": "ana", "answered_at": "",
        "new_label": next(c for c in original.categories if c != test_row["category"])}]), "fixed")
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "results.py"), default_timeout=60).run()
    assert not app.exception
    assert not app.sidebar.selectbox  # no sidebar taking width from every page's tables for one picker
    picker = app.selectbox(key="data_version_picker")
    assert picker.label == "Data version" and picker.options == ["original", "fixed"]
    assert not any("Before and after" in h.value for h in app.subheader)
    picker.select("fixed").run()  # the text scenarios run by themselves on the corrected version
    assert not app.exception
    assert any("1 label(s) corrected by operators" in c.value for c in app.caption)
    assert any("Data version: fixed" in block.proto.popover.label for block in app.get("popover"))
    assert any("Before and after the corrections of fixed" in h.value for h in app.subheader)
    shown = next(d for d in app.dataframe if "test labels changed" in d.value.columns)
    table = shown.value
    headers = {name: config.get("label") for name, config in json.loads(shown.proto.columns).items()}
    assert headers["corrected data: test accuracy (corrected labels)"] == "After, corrected labels"  # short: it fits
    assert table["scenario"].tolist() == ["tfidf", "tfidf_specs"] and table["test labels changed"].tolist() == [1, 1]


def test_the_corrections_file_keeps_an_operator_name_from_running_as_a_formula(small_data_dir):
    original = load_dataset()
    first = original.listings.iloc[0]
    new_label = next(c for c in original.categories if c != first["category"])
    folder = write_version(_versions(), original, pd.DataFrame([{
        "uniq_id": first["uniq_id"], "old_label": first["category"], "new_label": new_label,
        "operators": '=HYPERLINK("http://evil.example")', "answered_at": ""}]), "safe")
    assert "'=HYPERLINK" in (folder / "corrections.csv").read_text(encoding="utf-8")
    assert read_corrections(_versions(), "safe")["operators"].tolist() == ['=HYPERLINK("http://evil.example")']
    assert apply_version(_versions(), original, "safe").listings.iloc[0]["category"] == new_label


def _correction(listing, new_label: str) -> dict:
    """One correction row of ``listing`` to ``new_label``, as ``corrections_from_answers`` builds it."""
    return {"uniq_id": listing["uniq_id"], "old_label": listing["category"], "new_label": new_label,
            "operators": "ana", "answered_at": ""}


def test_apply_refuses_an_answer_that_is_not_a_category_naming_the_listing_and_the_label(small_data_dir, capsys):
    listing = load_dataset().listings.iloc[0]
    # Saved without the categories to check against (as a script may), the store kept it.
    ReviewStore(Workspace.from_environment().review_url).save("ana", listing["uniq_id"], "Gadgets", False)
    assert main(["labels", "apply"]) == EXIT_DATA
    err = capsys.readouterr().err
    assert err.startswith(f"error: The operators' answer gives the listing {listing['uniq_id']} the label 'Gadgets'")
    assert "not one of the data set's categories (Baby Care, Computers, Watches)" in err
    assert err.endswith("; answer it again with one of them on the review page.\n")
    assert len(err.strip().splitlines()) == 1 and version_names(_versions()) == []


def test_a_version_whose_label_is_not_a_category_is_refused_where_written_and_where_applied(small_data_dir, capsys):
    from core.exports import write_csv

    original = load_dataset()
    listing = original.listings.iloc[0]
    with pytest.raises(DatasetError, match=f"the listing {listing['uniq_id']} the label 'Gadgets', which is not"):
        write_version(_versions(), original, pd.DataFrame([_correction(listing, "Gadgets")]), "bad")
    assert version_names(_versions()) == []
    # A version whose file was edited by hand, or written before labels were checked.
    folder = write_version(_versions(), original, pd.DataFrame([_correction(listing, original.categories[-1])]),
                           "edited")
    write_csv(read_corrections(_versions(), "edited").assign(new_label="Gadgets"), folder / "corrections.csv")
    for command in (["--data-version", "edited", "run", "tfidf"], ["labels", "compare", "--version", "edited"]):
        assert main(command) == EXIT_DATA
        err = capsys.readouterr().err
        assert f"The data version edited gives the listing {listing['uniq_id']} the label 'Gadgets'" in err
        assert err.endswith("; it cannot be used: write a new version with `python -m core labels apply`.\n")
        assert len(err.strip().splitlines()) == 1


def test_a_version_leaving_a_category_too_few_listings_says_so_in_one_line(small_data_dir, capsys):
    original = load_dataset()
    split = assign_split(original.listings)
    watches = original.listings[original.listings["category"] == "Watches"]
    # One train and one test listing stay Watches: one listing to learn it from, too few to cross-validate.
    kept = [watches[split[watches.index] == "train"].index[0], watches[split[watches.index] == "test"].index[0]]
    moved = watches.drop(kept)
    write_version(_versions(), original, pd.DataFrame([_correction(row, "Computers") for _, row in moved.iterrows()]),
                  "thin")
    for command in (["--data-version", "thin", "run", "tfidf"], ["labels", "compare", "--version", "thin"]):
        assert main(command) == EXIT_DATA
        err = capsys.readouterr().err
        assert "needs 5 or more listings in each category" in err
        assert "the data version thin leaves 'Watches' 2 listing(s)" in err
        assert len(err.strip().splitlines()) == 1


DAMAGES = {  # how a version's folder can be found, and what the message says is wrong with it
    "no version.json": ("version.json", None, "its version.json is missing"),
    "version.json not JSON": ("version.json", "{\"name\": ", "its version.json is not valid JSON"),
    "version.json a list": ("version.json", "[]", "its version.json lacks original_fingerprint"),
    "version.json without the fingerprint": ("version.json", '{"name": "broken"}',
                                             "its version.json lacks original_fingerprint"),
    "no corrections.csv": ("corrections.csv", None, "its corrections.csv is missing"),
    "corrections.csv empty": ("corrections.csv", "", "its corrections.csv is empty"),
    "corrections.csv headers only": ("corrections.csv", ",".join(CORRECTION_COLUMNS) + "\n",
                                     "its corrections.csv holds no correction"),
    "corrections.csv of other columns": ("corrections.csv", "id,label\n1,Watches\n",
                                         "its corrections.csv lacks the column(s) uniq_id, old_label, new_label"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_version_is_named_with_what_is_wrong_and_never_offered(small_data_dir, capsys, damage):
    original = load_dataset()
    listings = original.listings
    write_version(_versions(), original, pd.DataFrame([_correction(listings.iloc[0], original.categories[-1])]), "good")
    folder = write_version(_versions(), original,
                           pd.DataFrame([_correction(listings.iloc[1], original.categories[-1])]), "broken")
    file, content, wrong = DAMAGES[damage]
    if content is None:
        (folder / file).unlink()
    else:
        (folder / file).write_text(content, encoding="utf-8")
    assert version_names(_versions()) == ["good"]
    for command in (["--data-version", "broken", "data", "report"], ["--data-version", "broken", "run", "tfidf"],
                    ["labels", "compare", "--version", "broken"]):
        assert main(command) == EXIT_DATA
        err = capsys.readouterr().err
        assert err.startswith(f"error: The data version broken is damaged: {wrong}")
        assert err.endswith("the usable versions are: original, good.\n") and len(err.splitlines()) == 1


def test_a_version_is_chosen_by_its_name_never_by_a_path(small_data_dir, tmp_path, monkeypatch, capsys):
    import os
    import shutil


    original = load_dataset()
    correction = _correction(original.listings.iloc[0], original.categories[-1])
    folder = write_version(_versions(), original, pd.DataFrame([correction]), "v1")
    outside = tmp_path / "elsewhere"  # a complete version's files, outside the versions folder
    shutil.copytree(folder, outside)
    for path in (str(outside), os.path.relpath(outside, _versions())):
        for command in (["--data-version", path, "data", "report"], ["labels", "compare", "--version", path]):
            assert main(command) == EXIT_DATA
            err = capsys.readouterr().err
            assert f"There is no data version named {path!r}" in err and "not by a path" in err
            assert err.endswith("the versions are: original, v1.\n") and len(err.splitlines()) == 1
    monkeypatch.setenv("VITRINE_DATA_VERSION", str(outside))
    assert main(["data", "report"]) == EXIT_DATA
    assert f"There is no data version named {str(outside)!r}" in capsys.readouterr().err


def test_apply_without_a_review_database_creates_none_and_says_no_answers_exist(small_data_dir, capsys):
    database = Workspace.from_environment().reviews_db
    assert main(["labels", "apply"]) == EXIT_DATA
    err = capsys.readouterr().err
    assert err.startswith(f"error: No answers exist yet: there is no review database at {database.resolve()}")
    assert len(err.splitlines()) == 1
    assert not database.exists() and version_names(_versions()) == []


def test_apply_on_a_damaged_review_database_says_what_to_do_in_the_commands_words(small_data_dir, capsys):
    database = Workspace.from_environment().reviews_db
    database.write_bytes(bytes(range(256)) * 16)  # not an SQLite file
    assert main(["labels", "apply"]) == EXIT_DATA
    err = capsys.readouterr().err
    assert f"the review database {database.resolve()} is damaged" in err and "then try again" in err
    assert "reload this page" not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("umask, folder_mode", [(0o022, 0o755), (0o007, 0o770)])
def test_a_version_folder_has_the_mode_the_umask_gives_like_every_other_output(small_data_dir, umask, folder_mode):
    import os

    original = load_dataset()
    before = os.umask(umask)
    try:
        folder = write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[0],
                                                                    original.categories[-1])]), "shared")
    finally:
        os.umask(before)
    assert folder.stat().st_mode & 0o777 == folder_mode  # others of the team read it, as they read the results
    assert {path.stat().st_mode & 0o777 for path in folder.iterdir()} == {0o666 & ~umask}


def test_a_version_file_that_cannot_be_read_says_why(small_data_dir):
    original = load_dataset()
    folder = write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[0],
                                                                            original.categories[-1])]), "broken")
    (folder / "version.json").unlink()
    (folder / "version.json").mkdir()
    with pytest.raises(DatasetError, match=r"^The data version broken is damaged: its version\.json cannot be read "
                                           r"\(Is a directory\)\. It cannot be used"):
        read_corrections(_versions(), "broken")
    (folder / "version.json").rmdir()
    (folder / "version.json").write_bytes(b'{"original_fingerprint": "\xff"}')  # not UTF-8
    with pytest.raises(DatasetError, match=r"its version\.json cannot be read \('utf-8' codec can't decode byte 0xff"):
        read_corrections(_versions(), "broken")
    assert version_names(_versions()) == []


def test_corrections_read_back_as_text_whatever_they_look_like(small_data_dir):
    from core.exports import write_csv

    original = load_dataset()
    folder = write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[0],
                                                                            original.categories[-1])]), "v")
    # Another data set's identifiers may be digits; an operator may be named like a number.
    write_csv(read_corrections(_versions(), "v").assign(uniq_id="007", operators="NA", answered_at=""),
              folder / "corrections.csv")
    assert read_corrections(_versions(), "v")[["uniq_id", "operators", "answered_at"]].values.tolist() == \
        [["007", "NA", ""]]  # an operator named NA is a name, and a missing time no NaN


@pytest.mark.parametrize(("content", "reason"), [
    (b"uniq_id,old_label,new_label\nBa0,Baby Care,Watches\nBa1,Baby Care,Watches,more,fields\n",
     "Error tokenizing data. C error: Expected 3 fields in line 3, saw 5)"),
    (b"uniq_id,old_label,new_label\nBa0,Baby Care,\xff\n", "'utf-8' codec can't decode byte 0xff"),
])
def test_a_corrections_file_that_cannot_be_read_says_why_in_one_line(small_data_dir, content, reason):
    original = load_dataset()
    folder = write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[0],
                                                                            original.categories[-1])]), "broken")
    (folder / "corrections.csv").write_bytes(content)
    with pytest.raises(DatasetError) as raised:
        read_corrections(_versions(), "broken")
    assert str(raised.value).startswith(f"The data version broken is damaged: its corrections.csv cannot be read "
                                        f"({reason}")
    assert len(str(raised.value).splitlines()) == 1


def test_a_corrections_file_the_system_refuses_to_read_says_so_plainly(small_data_dir, monkeypatch):
    original = load_dataset()
    write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[0],
                                                                   original.categories[-1])]), "locked")

    def refused(path, **options):  # as a file of another user's, unreadable to this one, answers
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr("core.labels.versions.read_csv", refused)
    with pytest.raises(DatasetError, match=r"^The data version locked is damaged: its corrections\.csv cannot be read "
                                           r"\(Permission denied\)\. It cannot be used"):
        read_corrections(_versions(), "locked")


def test_a_written_version_states_its_rule_times_and_origin(small_data_dir):
    original = load_dataset()
    folder = write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[0],
                                                                            original.categories[-1])]))
    assert re.fullmatch(r"corrected-\d{8}-\d{6}", folder.name)  # named by when it was written, unless named
    manifest = json.loads((folder / "version.json").read_text(encoding="utf-8"))
    assert manifest["name"] == folder.name and manifest["corrections"] == 1
    assert manifest["rule"] == correction_rule(1) and "at least 1 operator(s)" in manifest["rule"]
    assert manifest["original_fingerprint"] == original.fingerprint
    assert manifest["original_csv"] == str(original.csv_path)
    assert manifest["created_at"].endswith("+00:00")
    assert read_corrections(_versions(), folder.name)["applied_at"].tolist() == [manifest["created_at"]]


def test_writing_a_version_refuses_what_it_cannot_write_and_says_why(small_data_dir):
    original = load_dataset()
    listing = original.listings.iloc[0]
    empty = pd.DataFrame(columns=CORRECTION_COLUMNS[:-1])
    with pytest.raises(DatasetError, match=r"^No answer meets the rule for a correction \(a listing's label .* at "
                                           r"least 2 operator\(s\) answered, and that category differs from the data "
                                           r"set's label\)\.$"):
        write_version(_versions(), original, empty, min_operators=2)
    with pytest.raises(DatasetError, match=rf"^A correction gives the listing {listing['uniq_id']} the label "
                                           r"'Gadgets', which is not one of the data set's categories \(Baby Care, "
                                           r"Computers, Watches\); nothing was written\.$"):
        write_version(_versions(), original, pd.DataFrame([_correction(listing, "Gadgets")]), "bad")
    good = pd.DataFrame([_correction(listing, original.categories[-1])])
    for name in ("../outside", "original", ".hidden", "a" * 61):
        with pytest.raises(DatasetError, match=r"^A version name is 1-60 letters, digits"):
            write_version(_versions(), original, good, name)
    write_version(_versions(), original, good, "v1")
    with pytest.raises(DatasetError, match=r"^Corrections apply to the original data set, not to the version v1\.$"):
        write_version(_versions(), apply_version(_versions(), original, "v1"), good, "v2")
    assert version_names(_versions()) == ["v1"] and not (_versions().parent / "outside").exists()


def test_a_version_is_written_into_a_versions_folder_not_made_yet_and_a_failed_write_leaves_nothing(
        small_data_dir, monkeypatch):
    original = load_dataset()
    good = pd.DataFrame([_correction(original.listings.iloc[0], original.categories[-1])])
    fresh = small_data_dir.parent / "new-workspace" / "versions"  # neither folder exists yet
    assert write_version(fresh, original, good, "v1").is_dir() and version_names(fresh) == ["v1"]

    def full_disk(frame, path, append=False):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("core.labels.versions.write_csv", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_version(fresh, original, good.assign(new_label=original.categories[0]), "v2")
    assert sorted(p.name for p in fresh.iterdir()) == ["v1"]  # no half-written folder, hidden or not


def test_a_version_of_another_copy_of_the_listings_is_refused(small_data_dir):
    from dataclasses import replace

    original = load_dataset()
    write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[0],
                                                                   original.categories[-1])]), "v1")
    with pytest.raises(DatasetError, match=r"^The data version v1 corrects another copy of the listings than the one "
                                           r"loaded \(its fingerprint differs\): the listings or photos changed since "
                                           r"it was written\.$"):
        apply_version(_versions(), replace(original, fingerprint="0123456789abcdef"), "v1")
    # Each version has a fingerprint of its own, so the results store keeps their results apart.
    write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[1],
                                                                   original.categories[-1])]), "v2")
    fingerprints = {name: apply_version(_versions(), original, name).fingerprint for name in ("v1", "v2")}
    assert len({original.fingerprint, *fingerprints.values()}) == 3
    assert fingerprints["v1"] == apply_version(_versions(), load_dataset(), "v1").fingerprint  # and the same each time


def test_versions_are_listed_oldest_first_whatever_their_names(small_data_dir):
    import os

    original = load_dataset()
    for i, name in enumerate(("zeta", "alpha", "mid")):
        folder = write_version(_versions(), original, pd.DataFrame([_correction(original.listings.iloc[i],
                                                                                original.categories[-1])]), name)
        os.utime(folder / "version.json", (1_800_000_000 + i * 60,) * 2)  # a minute apart, in this order
    assert version_names(_versions()) == ["zeta", "alpha", "mid"]


def test_the_apply_commands_help_states_the_rule_it_applies_by_default(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["labels", "apply", "--help"])
    assert exited.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "at least 1 operator(s) answered" in help_text
