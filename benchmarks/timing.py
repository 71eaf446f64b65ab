"""Timing paths side by side on a shared, noisy machine.

The paths take turns for a few rounds and each keeps its best time, so that a burst of load from
the machine's other tenants lands on every path alike instead of deciding the ratio.
"""
from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path
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


# The instruction sets int8 and bf16 speed depend on: a ratio means little without them.
RELEVANT_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_line() -> str:
    """This CPU's model and the relevant instruction-set flags it has, in one line."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    flags = next((set(line.split(":", 1)[1].split()) for line in info.splitlines() if line.startswith("flags")), set())
    present = [flag for flag in RELEVANT_FLAGS if flag in flags]
    return f"cpu: {model}; flags: {' '.join(present) or 'none of ' + ' '.join(RELEVANT_FLAGS)}"
