"""Which hardware a batch runs on: the user's choice, checked against what torch sees."""
from __future__ import annotations

from core.errors import ScenarioUnavailableError
from core.scenarios.base import Scenario


def choose_device(requested: str, scenario: Scenario) -> str:
    """``cuda`` or ``cpu`` for ``auto``, ``cpu`` or ``cuda``: auto takes the GPU when torch sees one and
    ``scenario`` has a GPU path (torch is not even imported for one that has none). Asking for
    ``cuda`` where torch sees no GPU says so at once."""
    if requested == "cpu" or (requested == "auto" and not scenario.uses_gpu):
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        if requested == "cuda":
            raise ScenarioUnavailableError("No CUDA GPU is visible to torch on this machine; run with --device cpu or "
                                           "auto.")
        return "cpu"
    return "cuda"


def describe_device(device: str, scenario: Scenario) -> str:
    """Where ``scenario`` computes on ``device``, in words."""
    if device == "cpu":
        return "the CPU" if scenario.uses_gpu else f"the CPU ({scenario.name} has no GPU path)"
    import torch

    gpu = torch.cuda.get_device_name(torch.device(device))
    if scenario.uses_gpu:
        return f"the GPU ({gpu}, fp16; JPEG photos decoded on the GPU)"
    return f"the CPU ({scenario.name} has no GPU path; the {gpu} is not used)"
