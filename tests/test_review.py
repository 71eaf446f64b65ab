"""The review store (durable, append-only, safe under concurrent writers) and the study summary.

Every test of the store through the ``store`` fixture runs on SQLite and on PostgreSQL; those about
the SQLite file itself (damaged, read-only) on SQLite only."""
import math
import multiprocessing
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import make_url

from core.errors import ReviewStoreError
from core.locations import REPO_ROOT
from core.review.answer_store import ReviewStore, answers, open_engine
from core.review.standing import operator_pace, operator_queue
from core.review.summary import ASK_ANOTHER, CONFIRMED, RETRAIN, REVISE_TREE, pair_kappa, summarise


@pytest.fixture
def sqlite_store(tmp_path):
    return ReviewStore(f"sqlite:///{tmp_path / 'reviews.sqlite'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request):
    """A new, empty store on each backend the app is tested with."""
    if request.param == "sqlite":
        store = request.getfixturevalue("sqlite_store")
    else:
        store = ReviewStore(request.getfixturevalue("postgresql_url"))
    yield store
    store.engine.dispose()


def test_answers_are_saved_at_once_and_survive_a_new_connection(store):
    store.save("ana", "item1", "Watches", in_doubt=False, comment="clear", scenario="tfidf")
    again = ReviewStore(store.url)
    [answer] = again.active_answers()
    assert (answer.operator, answer.uniq_id, answer.category, answer.in_doubt, answer.comment) == (
        "ana", "item1", "Watches", False, "clear")


def test_undo_is_history_not_deletion(store):
    store.save("ana", "item1", "Watches", False)
    store.save("ana", "item2", "Computers", True)
    store.save("bob", "item3", "Baby Care", False)
    undone = store.undo_last("ana")
    assert undone.uniq_id == "item2"
    assert [a.uniq_id for a in store.active_answers()] == ["item1", "item3"]
    history = store.history()
    assert len(history) == 4 and history["undoes"].notna().sum() == 1
    assert history["undoes"].dropna().tolist() == [undone.id]
    assert history.to_csv(index=False).splitlines()[-1].split(",")[-1] == str(undone.id)  # 2, never 2.0
    assert store.undo_last("nobody") is None


def test_an_operator_name_is_required(store):
    with pytest.raises(ReviewStoreError, match="operator name"):
        store.save("  ", "item1", "Watches", False)


@pytest.mark.parametrize("operator, label, comment, reason", [
    ("a" * 101, "Watches", "", "at most 100 fit"),  # the operator column holds 100 characters
    ("ana", "", "", "Pick a category"),
    ("ana", "  ", "", "Pick a category"),
    ("ana", None, "", "Pick a category"),  # stored, it broke the summary (sorting None among names)
    ("ana", "Gadgets", "", "'Gadgets' is not one of this data set's categories"),
    ("ana", "Watches", "x" * 1001, "at most 1000 are kept"),
    ("an\x00a", "Watches", "", "Your operator name holds a NUL character"),  # PostgreSQL cannot store it
    ("ana", "Watches", "clear\x00", "The comment holds a NUL character"),
    # Bidirectional controls show a name other than the one stored ('ana' + U+202E + 'bo' reads 'anaob').
    *[(f"ana{char}bo", "Watches", "", f"Your operator name holds the invisible character U\\+{ord(char):04X} ")
      for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"],
    ("ana\u200bbo", "Watches", "", r"U\+200B \(ZERO WIDTH SPACE\)"),  # any other format character
    ("ana\tbo", "Watches", "", r"U\+0009 \(a control character\)"),
])
def test_an_answer_the_store_cannot_keep_or_count_is_refused_with_the_reason(store, operator, label, comment,
                                                                             reason):
    with pytest.raises(ReviewStoreError, match=reason):
        store.save(operator, "item1", label, False, comment, categories=["Watches", "Computers"])
    assert store.history().empty


def test_names_and_comments_up_to_their_limits_are_kept_the_name_stripped(store):
    store.save(f"  {'a' * 100}  ", "item1", "Watches", False, "x" * 1000, categories=["Watches", "Computers"])
    [answer] = store.active_answers()
    assert answer.operator == "a" * 100 and len(answer.comment) == 1000


def test_answer_times_are_read_back_in_utc_whatever_the_servers_zone(store):
    before = datetime.now(timezone.utc)
    store.save("ana", "item1", "Watches", False)
    [answer] = store.active_answers()
    assert answer.created_at.utcoffset() == timedelta(0)  # the test server's zone is +05:30
    assert before <= answer.created_at <= datetime.now(timezone.utc)
    assert str(store.active_frame()["created_at"].dtype).endswith("UTC]")  # the CSV export says +00:00


def test_a_read_only_database_gives_a_clear_message_and_keeps_what_was_saved(tmp_path):
    path = tmp_path / "reviews.sqlite"
    ReviewStore(f"sqlite:///{path}").save("ana", "item1", "Watches", False)
    read_only = ReviewStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(ReviewStoreError, match=r"not saved \(the database file is read-only\)"):
        read_only.save("ana", "item2", "Watches", False)
    assert [a.uniq_id for a in ReviewStore(f"sqlite:///{path}").active_answers()] == ["item1"]


def test_a_read_only_postgresql_database_gives_a_clear_message_and_keeps_what_was_saved(postgresql_url):
    ReviewStore(postgresql_url).save("ana", "item1", "Watches", False)
    # As on a standby server, or for an account set to read-only.
    url = make_url(postgresql_url)
    options = f"{url.query['options']} -c default_transaction_read_only=on"
    read_only = ReviewStore(url.update_query_dict({"options": options}).render_as_string(hide_password=False))
    with pytest.raises(ReviewStoreError, match=r"not saved \(the database is read-only\)"):
        read_only.save("ana", "item2", "Watches", False)
    read_only.engine.dispose()
    assert [a.uniq_id for a in ReviewStore(postgresql_url).active_answers()] == ["item1"]


def test_the_same_answer_saved_twice_at_once_is_stored_once(store):
    first = store.save("ana", "item1", "Watches", True, "looks like a watch", scenario="tfidf")
    assert store.save("ana", "item1", "Watches", True, "looks like a watch", scenario="tfidf") == first
    assert len(store.history()) == 1


def test_a_changed_answer_an_answer_after_an_undo_or_a_later_one_is_a_new_answer(store):
    first = store.save("ana", "item1", "Watches", False)
    changed = store.save("ana", "item1", "Computers", False)
    assert changed != first
    store.undo_last("ana")
    again = store.save("ana", "item1", "Computers", False)
    assert again not in (first, changed)
    with store.engine.begin() as connection:  # as if saved a minute ago
        connection.execute(answers.update().where(answers.c.id == again).values(
            created_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    store.save("ana", "item1", "Computers", False)
    assert len(store.history()) == 5 and len(store.active_answers()) == 3


DAMAGED = bytes(range(256)) * 16  # not an SQLite file: what a disk error or a stray copy can leave


def test_a_damaged_database_file_is_named_and_left_untouched(tmp_path):
    path = tmp_path / "reviews.sqlite"
    path.write_bytes(DAMAGED)
    with pytest.raises(ReviewStoreError) as refused:
        ReviewStore(f"sqlite:///{path}")
    message = str(refused.value)
    assert f"the review database {path} is damaged" in message
    assert "left untouched" in message and "Move it aside" in message and "backup" in message
    assert path.read_bytes() == DAMAGED


def test_damage_found_while_reading_or_saving_is_named_and_left_untouched(sqlite_store):
    store = sqlite_store
    store.save("ana", "item1", "Watches", False)
    store.engine.dispose()  # the last connection's close moves the WAL into the file
    path = Path(store.url.removeprefix("sqlite:///"))
    page = 4096
    content = bytearray(path.read_bytes())
    content[page:2 * page] = DAMAGED  # the answers table's page; the schema on the first page stays readable
    path.write_bytes(bytes(content))
    reopened = ReviewStore(store.url)
    with pytest.raises(ReviewStoreError, match="The answers cannot be read: the review database .* is damaged"):
        reopened.history()
    with pytest.raises(ReviewStoreError, match="Your answer was not saved: the review database .* is damaged"):
        reopened.save("ana", "item2", "Watches", False)
    reopened.engine.dispose()
    assert path.read_bytes() == bytes(content)


def test_threads_saving_at_once_lose_nothing(store):
    def work(operator):
        local = ReviewStore(store.url)
        for i in range(25):
            local.save(operator, f"item{i}", "Watches", i % 2 == 0)

    threads = [threading.Thread(target=work, args=(f"op{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers = store.active_frame()
    assert len(answers) == 150 and answers["id"].is_unique
    assert set(answers.groupby("operator").size()) == {25}


WRITER = """
import sys
from core.review.answer_store import ReviewStore, answers
store = ReviewStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    store.save(sys.argv[2], f"item{i}", "Computers", False, comment=f"{sys.argv[2]}-{i}")
"""


def test_processes_saving_at_once_lose_nothing(store):
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, store.url, f"proc{n}", "20"], cwd=REPO_ROOT)
               for n in range(4)]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
    answers = store.active_frame()
    assert len(answers) == 80
    assert set(answers["comment"]) == {f"proc{n}-{i}" for n in range(4) for i in range(20)}
    if store.engine.dialect.name == "sqlite":
        journal = sqlite3.connect(store.url.removeprefix("sqlite:///")).execute("PRAGMA journal_mode").fetchone()[0]
        assert journal == "wal"


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request, tmp_path):
    """The URL of a review database nobody has opened yet (no table), on each backend the app is tested with."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reviews.sqlite'}"
    return request.getfixturevalue("postgresql_url")


def _open_and_save(start, url: str, operator: str, answers: int) -> None:
    """One writer process: open the store the moment the others do, then save its answers."""
    start.wait()
    store = ReviewStore(url)
    for i in range(answers):
        store.save(operator, f"item{i}", "Computers", False, comment=f"{operator}-{i}")


def _run_processes(target, url: str, count: int, *args) -> list[int]:
    """Run ``target(start, url, operator, *args)`` in ``count`` fresh processes released at once; their exit codes."""
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters, as separate app or CLI processes are
    start = spawn.Barrier(count, timeout=120)
    processes = [spawn.Process(target=target, args=(start, url, f"proc{n}", *args)) for n in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
    return [process.exitcode for process in processes]


def test_processes_opening_a_new_database_at_once_lose_nothing(new_url):
    assert _run_processes(_open_and_save, new_url, 6, 10) == [0] * 6
    answers = ReviewStore(new_url).active_frame()
    assert len(answers) == 60
    assert set(answers["comment"]) == {f"proc{n}-{i}" for n in range(6) for i in range(10)}


def _connect_at_once_each_round(start, url: str, _operator: str, rounds: int) -> None:
    """One of several processes that connect to a new SQLite file at the same moment, once per round."""
    for round_number in range(rounds):
        start.wait()
        with open_engine(url.format(round_number)).connect():
            pass


def test_many_processes_connecting_to_a_new_sqlite_file_at_once_all_get_in(tmp_path):
    # SQLite answers "locked" at once, busy timeout or not, to some of the processes that switch a new file to
    # WAL together (measured: 22 of 600 connections, 6 at a time): rounds enough for that to show.
    rounds = 40
    url = f"sqlite:///{tmp_path}/round{{}}.sqlite"
    assert _run_processes(_connect_at_once_each_round, url, 6, rounds) == [0] * 6
    for round_number in range(rounds):
        journal = sqlite3.connect(tmp_path / f"round{round_number}.sqlite").execute("PRAGMA journal_mode")
        assert journal.fetchone()[0] == "wal"


def _save_the_same_answers_in_step(start, url: str, _operator: str, answers: int) -> None:
    """One of several processes that each save the same answers of one operator (a double click reaching
    two app processes), every answer at the same moment as the others."""
    store = ReviewStore(url)
    for i in range(answers):
        start.wait()
        store.save("ana", f"item{i}", "Watches", True, "looks like a watch", scenario="tfidf")


def test_the_same_answer_saved_by_processes_at_the_same_moment_is_stored_once(store):
    assert _run_processes(_save_the_same_answers_in_step, store.url, 3, 15) == [0] * 3
    assert store.history()["uniq_id"].tolist() == [f"item{i}" for i in range(15)]


def test_a_store_opened_only_to_read_creates_no_database_and_says_no_answer_exists(new_url):
    with pytest.raises(ReviewStoreError, match="No answers exist yet: there is no review database at "):
        ReviewStore(new_url, create=False)
    if new_url.startswith("sqlite:///"):
        assert not Path(new_url.removeprefix("sqlite:///")).exists()
    ReviewStore(new_url).save("ana", "item1", "Watches", False)
    assert len(ReviewStore(new_url, create=False).active_answers()) == 1


def test_queue_puts_the_most_confident_mistakes_first(small_data_dir):
    from core.dataset import load_dataset
    from core.evaluation import evaluate
    from core.scenarios.tfidf import TfidfScenario

    result = evaluate(TfidfScenario(), load_dataset(small_data_dir)).result
    frame = result.predictions
    frame.loc[0, "predicted"] = "Watches" if frame.loc[0, "true"] != "Watches" else "Computers"
    queue = result.misclassified()
    assert set(queue["uniq_id"]) == set(frame.loc[frame["true"] != frame["predicted"], "uniq_id"])
    assert queue["confidence"].is_monotonic_decreasing


def test_the_mistakes_queue_holds_the_test_splits_mistakes_only(small_data_dir):
    from core.dataset import load_dataset
    from core.evaluation import evaluate
    from core.review.queues import mistakes_queue
    from core.scenarios.tfidf import TfidfScenario

    dataset = load_dataset(small_data_dir)
    result = evaluate(TfidfScenario(), dataset).result
    frame = result.predictions
    for split in ("train", "test"):  # one wrong answer planted in each split
        row = frame.index[frame["split"] == split][0]
        frame.loc[row, "predicted"] = "Watches" if frame.loc[row, "true"] != "Watches" else "Computers"
    wrong = frame[frame["true"] != frame["predicted"]]
    queue = mistakes_queue("tfidf", result, dataset)
    assert queue.title == "Test-split mistakes of tfidf"
    names = dataset.listings.set_index("uniq_id")["product_name"]
    assert queue.items["product_name"].tolist() == names[queue.items["uniq_id"]].tolist()  # the list's names
    assert set(queue.items["uniq_id"]) == set(wrong.loc[wrong["split"] == "test", "uniq_id"])
    assert set(wrong.loc[wrong["split"] == "train", "uniq_id"]).isdisjoint(queue.items["uniq_id"])


def test_summary_doubt_agreement_kappa_and_decisions():
    answers = pd.DataFrame([
        {"id": 1, "operator": "ana", "uniq_id": "a", "label": "Watches", "in_doubt": False},
        {"id": 2, "operator": "bob", "uniq_id": "a", "label": "Watches", "in_doubt": False},
        {"id": 3, "operator": "ana", "uniq_id": "b", "label": "Baby Care", "in_doubt": True},
        {"id": 4, "operator": "bob", "uniq_id": "b", "label": "Home Furnishing", "in_doubt": True},
        {"id": 5, "operator": "ana", "uniq_id": "c", "label": "Computers", "in_doubt": False},
        {"id": 6, "operator": "bob", "uniq_id": "c", "label": "Computers", "in_doubt": False},
    ])
    listings = pd.DataFrame({"uniq_id": ["a", "b", "c"], "product_name": ["Titan watch", "Cushion", "Sonata watch"],
                             "category": ["Watches", "Home Furnishing", "Watches"]})
    predictions = pd.DataFrame({"uniq_id": ["a", "b", "c"], "predicted": ["Computers", "Baby Care", "Computers"]})
    summary = summarise(answers, listings, predictions)
    watches = summary.per_category.set_index("category").loc["Watches"]
    assert watches["answers"] == 4 and watches["doubt_rate"] == 0.0
    assert watches["agreement_with_dataset"] == 0.5 and watches["agreement_with_model"] == 0.5
    assert summary.per_category.set_index("category").loc["Home Furnishing", "doubt_rate"] == 1.0
    [pair] = summary.kappa.to_dict("records")
    assert pair["items"] == 3 and pair["agreement"] == 2 / 3 and 0 < pair["kappa"] < 1
    decisions = summary.decisions.set_index("uniq_id")
    assert decisions.loc["b", "decision"] == REVISE_TREE and decisions.loc["c", "decision"] == RETRAIN
    assert decisions.loc["a", "decision"] == CONFIRMED  # both sure of the data set's own label
    assert decisions.loc["b", "product"] == "Cushion"  # operators recognise products by name, not by id


def test_operators_sure_of_different_categories_are_not_taken_for_a_label_to_retrain_with():
    answers = pd.DataFrame([
        {"id": 1, "operator": "bob", "uniq_id": "d", "label": "Watches", "in_doubt": False},
        {"id": 2, "operator": "dan", "uniq_id": "d", "label": "Home Furnishing", "in_doubt": False},
        {"id": 3, "operator": "eve", "uniq_id": "d", "label": "Baby Care", "in_doubt": True},
    ])
    listings = pd.DataFrame({"uniq_id": ["d"], "product_name": ["Blanket"], "category": ["Baby Care"]})
    summary = summarise(answers, listings, pd.DataFrame({"uniq_id": ["d"], "predicted": ["Watches"]}))
    assert summary.decisions["decision"].tolist() == [ASK_ANOTHER]


def test_kappa_is_undefined_not_an_error_when_both_operators_used_one_category():
    same = pd.Series(["Watches", "Watches"])
    assert math.isnan(pair_kappa(same, same))
    assert pair_kappa(pd.Series(["Watches", "Computers"]), pd.Series(["Watches", "Computers"])) == 1.0


def test_an_operators_queue_leaves_out_what_they_answered_or_skipped_in_queue_order():
    queue = pd.DataFrame({"uniq_id": ["a", "b", "c", "d"]})
    answers = pd.DataFrame({"operator": ["ana", "ana", "bo"], "uniq_id": ["b", "z", "a"]})
    standing = operator_queue(queue, answers, "ana", skipped={"a"})
    assert (standing.total, standing.answered) == (4, 1)  # "z" is not in this queue
    assert standing.pending["uniq_id"].tolist() == ["c", "d"] and standing.next_item["uniq_id"] == "c"
    assert operator_queue(queue, answers, "ana", skipped={"a", "c", "d"}).next_item is None
    assert list(standing.pending.columns) == ["uniq_id"] and standing.pending.index.tolist() == [0, 1]


def test_skips_are_kept_per_operator_until_brought_back(store):
    store.skip("ana", "a")
    store.skip("ana", "a")  # skipped twice: still one product put aside
    store.skip("bo", "b")
    again = ReviewStore(store.url)  # a reload: a new connection finds them
    assert again.skipped("ana") == {"a"} and again.skipped(" bo ") == {"b"}
    assert again.bring_back("ana") == 1
    assert again.skipped("ana") == set() and again.skipped("bo") == {"b"}
    with pytest.raises(ReviewStoreError, match="operator name"):
        store.skip("  ", "a")


def test_pace_is_measured_on_the_last_half_hour_and_gives_the_time_to_go():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    minutes_ago = [90, 10, 8, 6, 4, 2]  # the first is yesterday's rhythm: left out
    answers = pd.DataFrame({"operator": ["ana"] * 6 + ["bo"],
                            "created_at": [now - timedelta(minutes=m) for m in minutes_ago] + [now]})
    pace = operator_pace(answers, "ana", left=10, now=now)
    assert pace.per_minute == pytest.approx(0.5) and pace.minutes_left == pytest.approx(20)
    assert operator_pace(answers, "bo", left=10, now=now) is None  # one answer gives no pace yet
    naive = answers.assign(created_at=answers["created_at"].dt.tz_localize(None))  # SQLite's UTC without a zone
    assert operator_pace(naive, "ana", left=10, now=now) == pace


@pytest.mark.parametrize("minutes_ago, per_minute", [
    ([4, 2, 0], 0.5),  # three answers are enough for a pace
    ([4, 2], None),  # two are not
    ([0.4, 0.2, 0], 5.0),  # answers less than a minute apart still give one
    ([30, 20, 10], 0.1),  # an answer exactly half an hour old still counts
])
def test_a_pace_needs_three_recent_answers_whatever_their_spacing(minutes_ago, per_minute):
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    answers = pd.DataFrame({"operator": ["ana"] * len(minutes_ago),
                            "created_at": [now - timedelta(minutes=m) for m in minutes_ago]})
    pace = operator_pace(answers, "ana", left=10, now=now)
    assert (pace.per_minute if pace else None) == (pytest.approx(per_minute) if per_minute else None)


def test_exported_answers_carry_the_product_its_label_and_the_reviewed_models_answer():
    from types import SimpleNamespace

    from core.review.export import answers_with_context

    listings = pd.DataFrame({"uniq_id": ["a", "b"], "product_name": ["Watch", "Mug"],
                             "category": ["Watches", "Kitchen"]})
    tfidf = pd.DataFrame({"uniq_id": ["a", "b"], "predicted": ["Kitchen", "Kitchen"]})
    results = {"tfidf": SimpleNamespace(predictions=tfidf),
               "clip_a": SimpleNamespace(predictions=pd.DataFrame({"uniq_id": ["a"], "predicted": ["Watches"]}))}
    batch = SimpleNamespace(scenario="tfidf", table=lambda: pd.DataFrame(
        {"key": ["batch:x:0:n1"], "product_name": ["Lamp"], "predicted": ["Home"]}))
    answers = pd.DataFrame({"id": [1, 2, 3], "operator": ["ana"] * 3, "uniq_id": ["a", "a", "batch:x:0:n1"],
                            "label": ["Watches"] * 3, "scenario": ["tfidf", "clip_a", "tfidf"]})
    out = answers_with_context(answers, listings, results, [batch])
    assert list(out.columns) == ["id", "operator", "uniq_id", "product_name", "dataset_label", "model_answer",
                                 "label", "scenario"]
    assert out["product_name"].tolist() == ["Watch", "Watch", "Lamp"]
    assert out["dataset_label"].tolist()[:2] == ["Watches", "Watches"] and pd.isna(out["dataset_label"][2])
    assert out["model_answer"].tolist() == ["Kitchen", "Watches", "Home"]  # the model each answer reviewed


def test_a_signed_in_account_answers_under_its_most_unique_claim():
    from core.review.identity import signed_in_operator

    ana = {"is_logged_in": True, "email": " ana@team.example ", "name": "Ana"}
    assert signed_in_operator(ana) == "ana@team.example"
    assert signed_in_operator({"is_logged_in": True, "name": "Ana", "sub": "123"}) == "Ana"
    assert signed_in_operator({"is_logged_in": True, "email": "", "sub": "123"}) == "123"
    assert signed_in_operator({"is_logged_in": False, "email": "ana@team.example"}) is None
    assert signed_in_operator({"is_logged_in": True}) is None
    assert len(signed_in_operator({"is_logged_in": True, "email": "a" * 300})) == 100  # what the store keeps
    # A claim the store would refuse (its text reordered by a bidirectional control) gives way to the next.
    assert signed_in_operator({"is_logged_in": True, "name": "Ana\u202eoB", "sub": "123"}) == "123"
