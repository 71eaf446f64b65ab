"""What the models folder holds: each model the scenarios need, present, missing or damaged, with its
size and fingerprint. Checked without loading a model (a header read at most), so a page can show it
at once."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core.models.clip import clip_available, configured_clip_id
from core.models.weights import file_fingerprint, folder_fingerprint, model_folder

MISSING = ("Not on this machine yet: download it (needs internet) or import a copy; the command line does the "
           "same (`python -m core models download` / `models import`).")
CLIP_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class ModelState:
    """One model as the models folder holds it."""

    kind: str  # "clip" or "densenet": what `models download` / `models import` call it
    model_id: str
    state: str  # "present", "missing" or "damaged"
    location: Path
    size_bytes: int = 0
    fingerprint: str = ""
    detail: str = ""  # why it is damaged, or how to get it when missing (no server path: pages show it)


def model_states(models: Path, cache: Path) -> list[ModelState]:
    """The state of every model the scenarios read in the models folder ``models``: CLIP (the configured
    checkpoint) and DenseNet121 (fingerprints remembered in the cache folder ``cache``)."""
    return [clip_state(configured_clip_id(), models, cache), densenet_state(models, cache)]


def clip_state(model_id: str, models: Path, cache: Path) -> ModelState:
    """A CLIP checkpoint's folder: present when its config reads and its weights' header does."""
    folder = model_folder(model_id, models)
    if not clip_available(model_id, models):
        return ModelState("clip", model_id, "missing", folder, detail=MISSING)
    problem = _clip_problem(folder)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if problem:
        return ModelState("clip", model_id, "damaged", folder, size, detail=problem)
    return ModelState("clip", model_id, "present", folder, size, folder_fingerprint(folder, cache))


def densenet_state(models: Path, cache: Path) -> ModelState:
    """DenseNet121's state dict: present when it is a readable torch archive."""
    from core.models.densenet import DENSENET_ID, weights_path  # torch: imported when asked for only

    path = weights_path(models)
    if not path.is_file():
        return ModelState("densenet", DENSENET_ID, "missing", path, detail=MISSING)
    size = path.stat().st_size
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut download is not one
        return ModelState("densenet", DENSENET_ID, "damaged", path, size,
                          detail=f"{path.name} is not a complete torch state dict (a download cut short?).")
    return ModelState("densenet", DENSENET_ID, "present", path, size, file_fingerprint(path, cache))


def _clip_problem(folder: Path) -> str:
    """Why a CLIP folder cannot load, found without loading it; empty when none is seen."""
    try:
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"its config.json cannot be read ({exc})."
    weights = [folder / name for name in CLIP_WEIGHTS if (folder / name).is_file()]
    if not weights:
        return f"it holds no weights file ({' or '.join(CLIP_WEIGHTS)})."
    if weights[0].suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(weights[0], framework="pt") as opened:
                opened.keys()
        except Exception as exc:  # safetensors raises its own error types for a damaged header
            return f"{weights[0].name} is damaged ({str(exc).splitlines()[0]})."
    return ""
