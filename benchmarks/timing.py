"""Timing paths side by side on a shared, noisy machine.

The paths take turns for a few rounds and each keeps its best time, so that a burst of load from
the machine's other tenants lands on every path alike instead of deciding the ratio.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_of_turns(paths: dict[str, Callable[[], Any]], rounds: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Each path's best time in seconds over ``rounds`` turns, and what each returned last."""
    best = {name: float("inf") for name in paths}
    returned: dict[str, Any] = {}
    for _ in range(rounds):
        for name, path in paths.items():
            start = time.perf_counter()
            returned[name] = path()
            best[name] = min(best[name], time.perf_counter() - start)
    return best, returned
