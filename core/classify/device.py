"""Which hardware a batch runs on: the user's choice, checked against what torch sees."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.errors import ScenarioUnavailable


@dataclass(frozen=True)
class Device:
    requested: str
    gpu_seen: bool

    def describe(self) -> str:
        """In words, for the run's first line: the models run on the CPU (int8 CLIP) in this version."""
        if self.gpu_seen:
            return "the CPU (a CUDA GPU is visible, but this version runs the models on the CPU)"
        return "the CPU"


def resolve_device(requested: str = "auto") -> Device:
    """``auto``, ``cpu`` or ``cuda``; asking for ``cuda`` where torch sees no GPU says so at once."""
    seen = torch.cuda.is_available()
    if requested == "cuda" and not seen:
        raise ScenarioUnavailable("No CUDA GPU is visible to torch on this machine; run with --device cpu or auto.")
    return Device(requested, seen and requested != "cpu")
