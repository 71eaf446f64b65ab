"""Dynamic micro-batching: listings from concurrent requests gathered into one model call.

One listing per call leaves most of a model's speed unused (a CLIP forward pass on 16 photos costs far
less than 16 passes on one). Each request's listings wait at most ``max_wait`` seconds for others, and a
call takes at most ``max_batch`` listings; the model runs in a worker thread, so the event loop keeps
accepting requests meanwhile.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any


class MicroBatcher:
    """Gathers items submitted concurrently and runs ``run(items) -> results`` on groups of them."""

    def __init__(self, run: Callable[[Sequence[Any]], list[Any]], max_batch: int = 32, max_wait: float = 0.005,
                 on_batch: Callable[[int], None] = lambda size: None):
        self.run, self.max_batch, self.max_wait, self.on_batch = run, max_batch, max_wait, on_batch
        self.queue: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None

    async def submit(self, items: Sequence[Any]) -> list[Any]:
        """The results of ``items``, in order, computed with whatever else arrived meanwhile."""
        if self.task is None or self.task.done():
            self.queue = asyncio.Queue()
            self.task = asyncio.create_task(self._serve())
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        for item, future in zip(items, futures):
            self.queue.put_nowait((item, future))
        return list(await asyncio.gather(*futures))

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), max(0.0, deadline - loop.time())))
                except asyncio.TimeoutError:
                    break
            live = [(item, future) for item, future in batch if not future.done()]  # a timed-out caller left
            if not live:
                continue
            self.on_batch(len(live))
            try:
                results = await asyncio.to_thread(self.run, [item for item, _ in live])
            except Exception as exc:  # every waiting request gets the failure, the batcher goes on
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(live, results):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
