"""Long work that outlives the page that asked for it: a scenario run, a map, a batch started from the app
runs as a job on the app server's own worker thread, not inside a page's script. Leaving the page or
reloading it stops the script, not the job; every visitor asking for the same work (the same key) finds the
job already there and follows its progress instead of starting a second copy; a job can be cancelled.

Jobs run one at a time, in the order asked: on a laptop's few cores two trainings side by side each take
twice as long, and the first visitor would wait for the second's.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import JobCancelled, VitrineError
from core.progress import Progress

WAITING, RUNNING, DONE, FAILED, CANCELLED = "waiting", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


@dataclass
class Job:
    """One piece of work and where it stands: its progress (``done`` of ``total``, ``message``), then its
    result, or the error that ended it."""

    key: str
    label: str
    work: Callable[[Progress], Any]
    state: str = WAITING
    done: int = 0
    total: int = 0
    message: str = ""
    result: Any = None
    error: BaseException | None = None
    asked_at: float = field(default_factory=time.time)
    started_at: float | None = None
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def seconds(self) -> float:
        """How long it has been running (0 while it waits)."""
        return time.time() - self.started_at if self.started_at is not None else 0.0

    @property
    def share(self) -> float:
        """The share done, 0 when the total is not known."""
        return min(self.done / self.total, 1.0) if self.total > 0 else 0.0

    def cancel(self) -> None:
        """Ask the job to stop: a waiting job never starts, a running one stops at its next progress report."""
        self._cancelled.set()

    def wait(self, seconds: float | None = None) -> bool:
        """Wait until the job has finished, at most ``seconds``; whether it has."""
        return self._finished.wait(seconds)

    def report(self, done: int, total: int, message: str) -> None:
        """The job's progress callback (a ``Progress``): records where the work is, and stops it once cancelled."""
        if self._cancelled.is_set():
            raise JobCancelled(f"{self.label}: cancelled.")
        self.done, self.total, self.message = done, total, message

    def run(self) -> None:
        """Do the work here, recording its result or the error that ended it."""
        if self._cancelled.is_set():
            self._end(CANCELLED)
            return
        self.started_at, self.state = time.time(), RUNNING
        try:
            self.result = self.work(self.report)
        except JobCancelled:
            self._end(CANCELLED)
        except BaseException as exc:  # kept for whoever follows the job; the worker thread goes on
            if not isinstance(exc, VitrineError):
                logging.getLogger(__name__).exception("%s failed", self.label)
            self.error = exc
            self._end(FAILED)
        else:
            self._end(DONE)

    def _end(self, state: str) -> None:
        self.state = state
        self._finished.set()


class JobBoard:
    """The jobs of one app server, shared by every session: started by key, run one at a time on a worker
    thread of their own."""

    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue()
        threading.Thread(target=self._work, name="vitrine-jobs", daemon=True).start()

    def start(self, key: str, label: str, work: Callable[[Progress], Any]) -> Job:
        """The job for ``key``: the one already waiting or running when there is one (the same work is never
        done twice at once), else ``work`` (called with a progress callback) queued as a new job."""
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and not current.finished:
                return current
            job = Job(key, label, work)
            self._jobs[key] = job
            self._queue.put(job)
            return job

    def get(self, key: str) -> Job | None:
        """The latest job started for ``key``, finished or not; None when there was none."""
        return self._jobs.get(key)

    def forget(self, job: Job) -> None:
        """Drop a finished job, so that asking for its work again starts it anew."""
        with self._lock:
            if self._jobs.get(job.key) is job and job.finished:
                del self._jobs[job.key]

    def unfinished(self) -> list[Job]:
        """The jobs waiting or running, in the order asked."""
        return sorted((j for j in list(self._jobs.values()) if not j.finished), key=lambda j: j.asked_at)

    def _work(self) -> None:
        while True:
            self._queue.get().run()
