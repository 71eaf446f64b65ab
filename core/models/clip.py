"""Loading CLIP (``transformers`` CLIPModel + CLIPProcessor) from the local models folder,
downloading it from the hub on a machine with internet, or importing a saved copy. The models folder
(``models``) and the cache folder (``cache``, where the weights' hashes are remembered) are the
workspace's, handed down by the caller."""
from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError

from core.errors import ModelMissingError
from core.models.weights import (
    copy_model_folder,
    folder_fingerprint,
    install_destination,
    install_folder,
    model_folder,
)
from core.progress import Progress, silent

DEFAULT_CLIP = "openai/clip-vit-base-patch32"
CLIP_MODEL_ENV = "VITRINE_CLIP_MODEL"


def configured_clip_id() -> str:
    """The CLIP checkpoint to use: ``$VITRINE_CLIP_MODEL`` (hub id or folder), else ViT-B/32."""
    return os.environ.get(CLIP_MODEL_ENV) or DEFAULT_CLIP


@dataclass
class LoadedClip:
    """A CLIP model with its processor, and what identifies its weights."""

    model_id: str
    model: object  # transformers.CLIPModel
    processor: object  # transformers.CLIPProcessor
    fingerprint: str


def missing_clip_message(model_id: str, models: Path) -> str:
    """Why the scenarios cannot run without ``model_id`` in the models folder ``models``, and how to get it."""
    folder = model_folder(model_id, models)
    return (
        f"CLIP weights for {model_id} are not on this machine (looked in {folder}). "
        f"With internet: `python -m core models download clip --model {model_id}`. "
        "Without: copy a folder saved with save_pretrained (config.json, model.safetensors, tokenizer "
        f"and preprocessor files) here and run `python -m core models import clip DIR --model {model_id}`."
    )


def clip_available(model_id: str, models: Path) -> bool:
    """Whether the weights are on disk, in the models folder ``models`` or the folder the id names (cheap: no
    loading)."""
    return (model_folder(model_id, models) / "config.json").is_file()


def load_clip(model_id: str, models: Path, cache: Path) -> LoadedClip:
    """The model and processor from the local folder only (in the models folder ``models``, or the folder the
    id names; its fingerprint remembered in ``cache``); ModelMissingError (at once) when absent, and when
    present but unusable (damaged, unsafe, another model's weights)."""
    folder = model_folder(model_id, models)
    if not (folder / "config.json").is_file():
        raise ModelMissingError(missing_clip_message(model_id, models))
    model, processor = _load_pretrained(folder, "Replace it: with internet, `python -m core models download clip "
                                        f"--model {model_id}`; without, `python -m core models import clip DIR "
                                        f"--model {model_id}`.")
    return LoadedClip(model_id=model_id, model=model.eval(), processor=processor,
                      fingerprint=folder_fingerprint(folder, cache))


def _load_pretrained(folder: Path, fix: str) -> tuple[object, object]:
    """transformers' CLIPModel and CLIPProcessor from ``folder``; a folder that does not load raises
    ModelMissingError with the reason in one line, then ``fix``."""
    # Direct module imports: transformers' lazy top-level attributes are not safe to resolve from
    # two app sessions at once (seen as "cannot import name" errors).
    from transformers.models.clip.modeling_clip import CLIPModel
    from transformers.models.clip.processing_clip import CLIPProcessor
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # our own progress reporting is enough
    try:
        with _quiet_transformers():
            return (CLIPModel.from_pretrained(folder, local_files_only=True),
                    CLIPProcessor.from_pretrained(folder, local_files_only=True))
    except (OSError, ValueError, RuntimeError, pickle.UnpicklingError, SafetensorError) as exc:
        raise ModelMissingError(f"The CLIP copy in {folder} cannot be loaded: {_load_failure(exc)}. {fix}") from exc


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers' own load report (a table of mismatched weights) left out: the error says what failed."""
    from transformers.utils import logging as transformers_logging

    level = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(level)


def _load_failure(exc: Exception) -> str:
    """Why a CLIP folder did not load, in one line. torch's text for a pickle it refuses advises loading it
    unsafely: never repeated."""
    if isinstance(exc, pickle.UnpicklingError):
        return ("its weights are a pickle file that cannot be loaded safely (Vitrine reads model.safetensors, or "
                "a .bin holding tensors only)")
    if isinstance(exc, SafetensorError):
        return f"its model.safetensors is damaged or incomplete ({str(exc).splitlines()[0]})"
    if "ignore_mismatched_sizes" in str(exc):
        return "its weights do not have the shapes its config.json gives (another model's weights, or another config)"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def download_clip(model_id: str, models: Path, progress: Progress = silent) -> Path:
    """Fetch a CLIP checkpoint from the Hugging Face hub into the models folder ``models`` (needs internet),
    telling ``progress`` how many of its files have arrived."""
    from huggingface_hub import snapshot_download
    from tqdm.auto import tqdm

    class Reporting(tqdm):
        """The hub's own progress bar over the checkpoint's files, also told to ``progress``."""

        def update(self, n=1):
            shown = super().update(n)
            progress(int(self.n), int(self.total or 0), f"{model_id}: files downloaded")
            return shown

    destination = install_destination(model_id, models)
    staging = destination.with_name(destination.name + ".download")
    try:
        snapshot_download(model_id, local_dir=staging, etag_timeout=10, tqdm_class=Reporting,
                          allow_patterns=["*.json", "*.txt", "*.safetensors"])
    except (OSError, ValueError) as exc:
        raise ModelMissingError(
            f"Could not download {model_id} from the Hugging Face hub ({str(exc).splitlines()[0]}). "
            "Check the internet connection, or import a saved copy with "
            f"`python -m core models import clip DIR --model {model_id}`."
        ) from exc
    _load_pretrained(staging, "The download was not installed.")  # refuse a download that does not load
    install_folder(staging, destination, models)
    return destination


def import_clip(source: Path, model_id: str, models: Path) -> Path:
    """Check that ``source`` holds a loadable CLIP checkpoint, then copy it into the models folder ``models``."""
    if not source.is_dir():
        raise ModelMissingError(f"{source} {'is a file' if source.exists() else 'does not exist'}: give the folder "
                                "a CLIP model was saved in (save_pretrained).")
    if not (source / "config.json").is_file():
        raise ModelMissingError(f"{source} does not hold a saved CLIP model (no config.json).")
    _load_pretrained(source, "Nothing was imported.")  # refuse a copy that does not load
    destination = install_destination(model_id, models)
    copy_model_folder(source, destination, models)
    return destination
