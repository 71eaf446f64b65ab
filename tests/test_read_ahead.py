"""Reading a batch ahead of its model, in a background thread: same items, same order, the same errors,
and nothing left running when a run stops."""
import threading
import time

import pytest

from core.classify.read_ahead import read_ahead


def _running_readers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "vitrine-read-ahead"]


def test_items_come_in_order_and_are_produced_while_the_caller_works():
    produced = []

    def chunks():
        for i in range(5):
            produced.append(i)
            yield i

    seen = []
    for item in read_ahead(chunks()):
        time.sleep(0.05)  # the model's work on this chunk
        seen.append((item, len(produced)))
    assert [item for item, _ in seen] == list(range(5))
    assert seen[0][1] >= 2  # the next chunk was read during the work on the first
    assert not _running_readers()


def test_an_error_while_reading_reaches_the_caller_after_the_chunks_before_it():
    def chunks():
        yield "first"
        yield "second"
        raise ValueError("line 3 is damaged")

    seen = []
    with pytest.raises(ValueError, match="line 3 is damaged"):
        for item in read_ahead(chunks()):
            seen.append(item)
    assert seen == ["first", "second"]
    assert not _running_readers()


def test_a_caller_that_stops_early_stops_the_reading_and_closes_the_file():
    closed = threading.Event()

    def chunks():
        try:
            for i in range(1_000_000):
                yield i
        finally:
            closed.set()

    with pytest.raises(KeyboardInterrupt):
        for item in read_ahead(chunks()):
            if item == 3:
                raise KeyboardInterrupt
    assert closed.is_set()
    assert not _running_readers()
