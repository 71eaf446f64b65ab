"""Reading a batch ahead of its model: the next chunks are read, checked and their photos sent to the
decoders in a background thread while this chunk is classified, so the model (on a GPU, above all)
never waits for the file.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from queue import Full, Queue
from typing import TypeVar

Item = TypeVar("Item")
# How often the background thread, waiting for room, checks that the caller has not stopped (seconds).
_POLL = 0.1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


def read_ahead(items: Iterator[Item], depth: int = 1) -> Iterator[Item]:
    """``items``, produced in a background thread at most ``depth`` ahead of the caller. An error
    raised there is raised here, in order; a caller that stops early (an error of its own, Ctrl-C)
    stops the thread before this returns."""
    queue: Queue = Queue(maxsize=depth)
    stopped = threading.Event()

    def hand_over(item) -> bool:
        while not stopped.is_set():
            try:
                queue.put(item, timeout=_POLL)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
            hand_over(_END)
        except BaseException as error:  # noqa: BLE001 - whatever it is, the caller raises it
            hand_over(_Failed(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:  # a generator stopped early lets go of its files here, in its own thread
                close()

    thread = threading.Thread(target=produce, name="vitrine-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stopped.set()
        thread.join()
