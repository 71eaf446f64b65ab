"""Which hardware a batch runs on: the user's choice, checked against what torch sees."""
from __future__ import annotations

import torch

from core.errors import ScenarioUnavailable


def describe_device(requested: str = "auto") -> str:
    """Where the models run, in words, for ``auto``, ``cpu`` or ``cuda``: the CPU (int8 CLIP) in this
    version. Asking for ``cuda`` where torch sees no GPU says so at once."""
    seen = torch.cuda.is_available()
    if requested == "cuda" and not seen:
        raise ScenarioUnavailable("No CUDA GPU is visible to torch on this machine; run with --device cpu or auto.")
    if seen and requested != "cpu":
        return "the CPU (a CUDA GPU is visible, but this version runs the models on the CPU)"
    return "the CPU"
