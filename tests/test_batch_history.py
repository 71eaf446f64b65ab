"""The history of classified batches: records kept per batch, agreement computed from the answers, the
service's listings counted per hour."""
import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import plotly.io
import pytest
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

from core.actions.classify import classify_upload
from core.actions.listing_service import Listing, ListingService, ServiceHistory
from core.batch_check import BatchReference
from core.cli import main
from core.dataset import load_dataset
from core.locations import REPO_ROOT
from core.review.answer_store import ReviewStore
from core.review.batch_history import BatchHistory, BatchRecord, PeriodTally, agreements, batch_history
from core.review.batches import sent_batches
from core.service.app import ServiceSettings, create_app
from core.service.keys import KeyStore
from core.workspace import Workspace

WHEN = datetime(2024, 5, 6, 9, 30, tzinfo=timezone.utc)


def _record(name: str, when: datetime = WHEN, **counts) -> BatchRecord:
    values = dict(rows=10, accepted=7, needs_review=3, ok=8, text_only=1, not_classified=1, unlike=False)
    return BatchRecord(when, "cli", name, "tfidf", review="review below 80 %", **{**values, **counts})


def test_records_are_kept_newest_first_and_read_by_another_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'reviews.sqlite'}"
    history = BatchHistory(url)
    first = history.record(_record("monday.csv", WHEN))
    history.record(_record("tuesday.csv", WHEN + timedelta(days=1), unlike=None, rows=0, accepted=0, needs_review=0))
    history.attach_review(first, "ab12cd34", pd.DataFrame({"key": ["batch:ab12cd34:0:x"], "predicted": ["Watches"]}))
    records = BatchHistory(url, create=False).records()  # as a second process reads it
    assert [r.name for r in records] == ["tuesday.csv", "monday.csv"]
    assert records[1].when == WHEN and records[1].review_batch == "ab12cd34" and records[0].review_batch is None
    assert records[0].unlike is None and records[1].unlike is False
    view = batch_history(url)
    assert view.table["accepted_share"].tolist()[1] == pytest.approx(0.7)
    assert np.isnan(view.table["accepted_share"].tolist()[0])  # an empty batch has no share, not a division error


def test_reading_a_history_never_recorded_is_empty_and_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'none' / 'reviews.sqlite'}"
    assert batch_history(url).table.empty
    assert not (tmp_path / "none").exists()


def test_agreement_counts_each_operators_latest_answer_per_listing_overall_and_per_category(tmp_path):
    url = f"sqlite:///{tmp_path / 'reviews.sqlite'}"
    history = BatchHistory(url)
    answered, untouched = history.record(_record("a.csv")), history.record(_record("b.csv"))
    keys = ["batch:aaaa:0:x", "batch:aaaa:1:y", "batch:aaaa:2:z"]
    history.attach_review(answered, "aaaa", pd.DataFrame({"key": keys, "predicted": ["Watches", "Watches", None]}))
    history.attach_review(untouched, "bbbb", pd.DataFrame({"key": ["batch:bbbb:0:q"], "predicted": ["Watches"]}))
    store = ReviewStore(url)
    store.save("ann", keys[0], "Computers", False)
    store.save("ann", keys[0], "Watches", False, comment="changed my mind")  # her latest answer counts
    store.save("bob", keys[0], "Watches", True)
    store.save("bob", keys[1], "Computers", False)
    store.save("bob", keys[2], "Computers", False)  # the model gave no category: not an agreement
    store.save("bob", "some-reference-listing", "Watches", False)  # not a batch's: counts nowhere
    view = batch_history(url)
    assert set(view.agreements) == {answered}  # nobody answered b.csv's listing
    found = view.agreements[answered]
    assert found.answers == 4 and found.share == pytest.approx(2 / 4)
    per_category = found.per_category.set_index("category")
    assert per_category.loc["Watches", "agreement_with_model"] == 1.0
    assert per_category.loc["Computers", "agreement_with_model"] == 0.0
    assert per_category.loc["Computers", "answers"] == 2
    row = view.table.set_index("name").loc["a.csv"]
    assert row["agreement"] == pytest.approx(0.5) and row["answers"] == 4
    assert np.isnan(view.table.set_index("name").loc["b.csv", "agreement"])


def test_agreement_outlives_the_batch_leaving_review():
    predictions = pd.DataFrame({"record": [1], "key": ["batch:aaaa:0:x"], "predicted": ["Watches"]})
    answers = pd.DataFrame({"id": [1], "operator": ["ann"], "uniq_id": ["batch:aaaa:0:x"], "label": ["Watches"],
                            "in_doubt": [False]})
    assert agreements(predictions, answers)[1].share == 1.0  # no batch folder needed


@dataclass
class _Listing:
    status: str
    needs_review: bool
    confidence: float | None


class _Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_the_service_tally_writes_one_record_per_hour_not_per_request():
    written: list[BatchRecord] = []
    clock = _Clock(WHEN)
    reference = BatchReference.build(np.linspace(0.8, 1.0, 200))
    tally = PeriodTally("tfidf", "review below 80 %", reference, written.append, clock=clock)
    for confidence in np.linspace(0.8, 1.0, 50):  # 50 requests of 2 listings within 9:30 and 9:59
        tally.add([_Listing("ok", False, confidence), _Listing("not classified: nothing to read", True, None)])
        clock.now += timedelta(seconds=30)
    assert not written  # nothing written while the hour runs
    clock.now = WHEN + timedelta(hours=1)
    tally.add([_Listing("text only: photo unusable (damaged)", True, 0.5)])
    [hour] = written
    assert (hour.when, hour.source, hour.rows) == (datetime(2024, 5, 6, 9, tzinfo=timezone.utc), "service", 100)
    assert (hour.ok, hour.not_classified, hour.text_only, hour.accepted, hour.needs_review) == (50, 50, 0, 50, 50)
    assert hour.name == "service, 2024-05-06 09:00–10:00 UTC" and hour.unlike is False  # as sure as the reference
    tally.close()  # at shutdown: the hour under way
    assert [r.rows for r in written] == [100, 1] and written[1].when == datetime(2024, 5, 6, 10, tzinfo=timezone.utc)
    tally.close()
    assert len(written) == 2  # nothing more to write


def test_the_service_tally_flags_an_hour_the_model_is_less_sure_of():
    written: list[BatchRecord] = []
    tally = PeriodTally("tfidf", "", BatchReference.build(np.linspace(0.8, 1.0, 200)), written.append)
    tally.add([_Listing("ok", True, c) for c in np.linspace(0.3, 0.6, 100)])
    tally.close()
    assert written[0].unlike is True


BATCH_CSV = ("id,product_name,description\n"
             "n1,Wrist watch,analog wrist watch strap dial men\n"
             "n2,Mystery box,zzz qqq vvv\n"
             "n3,,\n"
             "n4,Laptop bag,usb laptop keyboard mouse router\n")


def test_the_command_line_records_each_batch_it_classifies_with_the_review_batch_answers_are_joined_to(
        small_data_dir, tmp_path, capsys):
    batch = tmp_path / "monday.csv"
    batch.write_text(BATCH_CSV, encoding="utf-8")
    assert main(["classify", str(batch), "--out", str(tmp_path / "out.csv"), "--to-review"]) == 0
    assert "warning" not in capsys.readouterr().err
    workspace = Workspace.from_environment()
    [sent] = sent_batches(workspace.batches)
    view = batch_history(workspace.review_url)
    [row] = view.table.to_dict("records")
    output = pd.read_csv(tmp_path / "out.csv", dtype={"id": str})
    assert (row["source"], row["name"], row["scenario"], row["rows"]) == ("cli", "monday.csv", "tfidf", 4)
    assert row["needs_review"] == output["needs_review"].sum() and row["not_classified"] == 1
    assert row["review_batch"] == sent.batch_id and np.isnan(row["agreement"])  # nobody answered yet
    table = sent.table()
    store = ReviewStore(workspace.review_url)
    for key, predicted in zip(table["key"], table["predicted"]):
        store.save("ann", key, predicted, False)
    sent.remove()  # the operators are done with it: its agreement stays in the history
    assert batch_history(workspace.review_url).table.loc[0, "agreement"] == 1.0
    assert main(["classify", str(batch), "--out", str(tmp_path / "again.csv")]) == 0
    again, first = batch_history(workspace.review_url).table["review_batch"]
    assert pd.isna(again) and first == sent.batch_id  # the newest first; sent to review only when asked
    capsys.readouterr()
    assert main(["batches"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["when", "(UTC)", "source", "rows", "accepted", "to", "review", "drift", "agreement",
                                "scenario", "batch"]
    assert lines[1].split()[2:] == ["cli", "4", "0.0%", "100.0%", "not", "checked", "-", "tfidf", "monday.csv"]
    assert lines[2].split()[2:] == ["cli", "4", "0.0%", "100.0%", "not", "checked", "100.0%", "of", "3", "tfidf",
                                    "monday.csv"]


def test_the_command_line_says_how_batches_appear_before_any(capsys):
    assert main(["batches"]) == 0
    assert capsys.readouterr().out.startswith("No batch classified yet: `python -m core classify FILE`")


def test_an_upload_in_the_app_is_recorded_and_sending_it_to_review_links_its_record(small_data_dir):
    workspace = Workspace.from_environment()
    run = classify_upload(workspace, "tuesday.csv", BATCH_CSV.encode(), None, "tfidf", load_dataset())
    [record] = BatchHistory(workspace.review_url).records()
    assert (record.source, record.name, record.rows, record.id) == ("app", "tuesday.csv", 4, run.record_id)
    assert record.review == run.review and record.review_batch is None
    sent = run.send_to_review(workspace)
    assert BatchHistory(workspace.review_url).records()[0].review_batch == sent.batch_id


def test_a_history_that_cannot_be_written_costs_the_record_not_the_batch(small_data_dir, tmp_path, monkeypatch,
                                                                         capsys):
    (tmp_path / "not-a-database.sqlite").write_text("these are not the droids")
    monkeypatch.setenv("VITRINE_REVIEW_DB", f"sqlite:///{tmp_path / 'not-a-database.sqlite'}")
    batch = tmp_path / "monday.csv"
    batch.write_text(BATCH_CSV, encoding="utf-8")
    assert main(["classify", str(batch), "--out", str(tmp_path / "out.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "out.csv")) == 4
    assert "warning: The batch history cannot be opened (file is not a database)" in capsys.readouterr().err


def _values(array) -> list:
    """A chart's numbers, as plotly stores them in its JSON (base64) or not."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def test_the_page_says_how_batches_appear_before_any():
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "batches.py"), default_timeout=60).run()
    assert not app.exception and not app.dataframe and not app.get("plotly_chart")
    assert "python -m core classify FILE" in app.info[0].value and "Classify a batch" in app.info[0].value


def test_the_page_shows_each_batch_newest_first_its_trend_and_a_batchs_agreement_per_category(tmp_path):
    workspace = Workspace.from_environment()
    history = BatchHistory(workspace.review_url)
    older = history.record(_record("[monday](http://evil.example).csv", WHEN, unlike=True))
    history.record(_record("tuesday.csv", WHEN + timedelta(days=1), accepted=9, needs_review=1))
    history.attach_review(older, "aaaa", pd.DataFrame({"key": ["batch:aaaa:0:x", "batch:aaaa:1:y"],
                                                       "predicted": ["Watches", "Watches"]}))
    store = ReviewStore(workspace.review_url)
    store.save("ann", "batch:aaaa:0:x", "Watches", False)
    store.save("ann", "batch:aaaa:1:y", "Computers", True)
    # Through the app's navigation: the page is one of the daily work's.
    app = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=120).run()
    app.switch_page("pages/batches.py").run()
    assert not app.exception and not app.error
    table = app.dataframe[0]
    assert table.value["name"].tolist() == ["tuesday.csv", "[monday](http://evil.example).csv"]
    assert list(table.proto.column_order)[:7] == ["when", "source", "rows", "accepted_share", "review_share", "drift",
                                                  "agreement"]
    assert table.value["drift"].tolist() == ["like", "unlike"]
    assert table.value["accepted_share"].tolist() == [90, 70] and table.value["agreement"].tolist()[1] == 50  # whole %
    chart = plotly.io.from_json(app.get("plotly_chart")[0].proto.spec)
    accepted, agreement, unlike = chart.data
    assert _values(accepted.y) == [0.7, 0.9] and _values(agreement.y) == [0.5]  # oldest first
    assert _values(unlike.y) == [0.7] and unlike.text == ("[monday](http://evil.example).csv (cli)",)
    assert app.selectbox[0].options == ["2024-05-06 09:30 UTC · [monday](http://evil.example).csv (cli)"]
    per_category = app.dataframe[1].value.set_index("category")
    assert per_category.loc["Watches", "agreement_with_model"] == 1.0
    assert per_category.loc["Computers", "agreement_with_model"] == 0.0


def test_the_service_history_records_its_listings_once_for_the_hour_at_shutdown(small_data_dir):
    workspace = Workspace.from_environment()
    service = ListingService(workspace, load_dataset(), "tfidf")
    recorded = ServiceHistory(service)
    for i in range(20):  # 20 model calls
        recorded.add(service.classify([Listing(f"w{i}", "Analog watch", "men analog wrist watch"), Listing(f"e{i}")]))
    assert BatchHistory(workspace.review_url).records() == []  # not a record per request
    recorded.close()
    [hour] = BatchHistory(workspace.review_url).records()
    assert (hour.source, hour.scenario, hour.rows, hour.not_classified) == ("service", "tfidf", 40, 20)
    assert hour.review == service.classifier.review and hour.name.startswith("service, ")


def test_the_service_records_an_hour_of_requests_as_one_batch_not_one_per_request(small_data_dir):
    workspace = Workspace.from_environment()
    key = KeyStore(workspace.root / "service-keys.json").create("form")
    loaded = ListingService(workspace, load_dataset(), "tfidf")
    listing = {"id": "w1", "name": "Analog watch", "description": "men analog wrist watch with a leather strap"}
    with TestClient(create_app(workspace, loaded.dataset, ServiceSettings(), loaded)) as client:
        for _ in range(10):
            answer = client.post("/v1/classify", json={"listings": [listing, listing]},
                                 headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 200
        assert BatchHistory(workspace.review_url).records() == []  # nothing written while the hour runs
    [hour] = BatchHistory(workspace.review_url).records()  # written as the service stopped
    assert (hour.source, hour.rows, hour.ok) == ("service", 20, 20)
