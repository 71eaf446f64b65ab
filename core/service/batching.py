"""Dynamic micro-batching: listings from concurrent requests gathered into one model call.

One listing per call leaves most of a model's speed unused (a CLIP forward pass on 16 photos costs far
less than 16 passes on one). A call takes whatever is waiting, up to ``max_batch`` listings: while the
model runs (in a worker thread, so the event loop keeps accepting requests), the next requests gather, so
batches grow with the load and a lone request waits for nobody. ``max_wait`` (0 by default) can hold a
call back a little longer for more.

A model computing in Python holds the interpreter's lock anyway: a worker thread gains it nothing and costs a
hand-over per call, so a call that ``on_loop`` says is short runs on the event loop itself.

Up to ``calls`` model calls run at once (1 by default), the waiting listings shared among the calls free
to take them. On a CPU a batch of a few photos runs on one of torch's compute streams
(``core.embeddings.streams``), one core: a second call keeps the other core busy, as the batch job's
streams do.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any


class MicroBatcher:
    """Gathers items submitted concurrently and runs ``run(items) -> results`` on groups of them."""

    def __init__(self, run: Callable[[Sequence[Any]], list[Any]], max_batch: int = 32, max_wait: float = 0.0,
                 on_batch: Callable[[int], None] = lambda size: None, calls: int = 1,
                 on_loop: Callable[[Sequence[Any]], bool] = lambda items: False):
        self.run, self.max_batch, self.max_wait, self.on_batch, self.calls = run, max_batch, max_wait, on_batch, calls
        self.on_loop = on_loop
        self.queue: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None
        self.running: set[asyncio.Task] = set()

    def submit(self, items: Sequence[Any]) -> asyncio.Future:
        """The results of ``items``, in order, computed with whatever else arrived meanwhile: a future, not a
        coroutine, so that awaiting it under a timeout (``asyncio.wait_for``) costs no task per request."""
        if self.task is None or self.task.done():
            self.queue = asyncio.Queue()
            self.task = asyncio.create_task(self._serve())
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        for item, future in zip(items, futures):
            self.queue.put_nowait((item, future))
        return asyncio.gather(*futures)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        free = asyncio.Semaphore(self.calls)
        while True:
            await free.acquire()  # requests gather while every call is busy: the next call takes them all
            batch = [await self.queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                if not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                    continue
                if loop.time() >= deadline:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), deadline - loop.time()))
                except asyncio.TimeoutError:
                    break
            live = [(item, future) for item, future in batch if not future.done()]  # a timed-out caller left
            if not live:
                free.release()
                continue
            # Shared with the calls free now: one call taking every waiting client would leave the others idle
            # until it answers, and then all the clients come back together to the next single call.
            size = -(-len(live) // (self.calls - len(self.running)))  # rounded up: at most one part per free call
            for start in range(0, len(live), size):
                if start:
                    await free.acquire()  # free: counted above
                part = live[start:start + size]
                self.on_batch(len(part))
                call = asyncio.create_task(self._call(part))
                self.running.add(call)
                call.add_done_callback(lambda done: (self.running.discard(done), free.release()))

    async def _call(self, live: list) -> None:
        try:
            items = [item for item, _ in live]
            results = self.run(items) if self.on_loop(items) else await asyncio.to_thread(self.run, items)
        except Exception as exc:  # every waiting request gets the failure, the batcher goes on
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(live, results):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        for task in [self.task, *self.running]:
            if task is not None:
                task.cancel()
