"""Compute streams: batches run side by side, each on one thread, instead of one at a time on all cores.

On a laptop CPU a model's operations on one batch are too small to split well over the cores
(two threads gave 1.6-1.75x one thread on CLIP's layers here); two batches computed at once with
one thread each use both cores fully. Inference only: autograd and the rest of the app keep
torch's usual threads.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")


class ComputeStreams:
    """A fixed set of worker threads that run torch with one intra-op thread each."""

    def __init__(self, count: int):
        self.count = count
        self._pool = ThreadPoolExecutor(count, thread_name_prefix="vitrine-stream")
        shared_setting = torch.get_num_threads()
        all_started = threading.Barrier(count)

        def single_threaded(_: int) -> None:
            torch.get_num_threads()  # a thread copies the shared count on first use: let that happen now,
            torch.set_num_threads(1)  # then set this thread's own OpenMP count...
            all_started.wait()  # ...in every worker before the shared count is put back

        list(self._pool.map(single_threaded, range(count)))
        torch.set_num_threads(shared_setting)  # threads started later keep torch's usual count

    def map(self, function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
        """``function`` over ``items`` across the streams; results in the order of ``items``."""
        return list(self._pool.map(function, items))


@lru_cache(maxsize=1)
def compute_streams() -> ComputeStreams:
    """The process's streams: one per thread torch would use."""
    return ComputeStreams(max(1, torch.get_num_threads()))
