"""Loading CLIP (``transformers`` CLIPModel + CLIPProcessor) from the local models folder,
downloading it from the hub on a machine with internet, or importing a saved copy."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelMissingError
from core.models.weights import copy_model_folder, folder_fingerprint, install_folder, model_folder
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


def missing_clip_message(model_id: str) -> str:
    folder = model_folder(model_id)
    return (
        f"CLIP weights for {model_id} are not on this machine (looked in {folder}). "
        f"With internet: `python -m core models download clip --model {model_id}`. "
        "Without: copy a folder saved with save_pretrained (config.json, model.safetensors, tokenizer "
        f"and preprocessor files) here and run `python -m core models import clip DIR --model {model_id}`."
    )


def clip_available(model_id: str | None = None) -> bool:
    """Whether the weights are on disk (cheap: no loading)."""
    return (model_folder(model_id or configured_clip_id()) / "config.json").is_file()


def load_clip(model_id: str | None = None) -> LoadedClip:
    """The model and processor from the local folder only; ModelMissingError (at once) when absent."""
    # Direct module imports: transformers' lazy top-level attributes are not safe to resolve from
    # two app sessions at once (seen as "cannot import name" errors).
    from transformers.models.clip.modeling_clip import CLIPModel
    from transformers.models.clip.processing_clip import CLIPProcessor
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # our own progress reporting is enough
    model_id = model_id or configured_clip_id()
    folder = model_folder(model_id)
    if not (folder / "config.json").is_file():
        raise ModelMissingError(missing_clip_message(model_id))
    try:
        model = CLIPModel.from_pretrained(folder, local_files_only=True)
        processor = CLIPProcessor.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelMissingError(f"The CLIP copy in {folder} is incomplete or damaged ({exc}). "
                                + missing_clip_message(model_id)) from exc
    return LoadedClip(model_id=model_id, model=model.eval(), processor=processor,
                      fingerprint=folder_fingerprint(folder))


def download_clip(model_id: str = DEFAULT_CLIP, progress: Progress = silent) -> Path:
    """Fetch a CLIP checkpoint from the Hugging Face hub into the models folder (needs internet), telling
    ``progress`` how many of its files have arrived."""
    from huggingface_hub import snapshot_download
    from tqdm.auto import tqdm

    class Reporting(tqdm):
        """The hub's own progress bar over the checkpoint's files, also told to ``progress``."""

        def update(self, n=1):
            shown = super().update(n)
            progress(int(self.n), int(self.total or 0), f"{model_id}: files downloaded")
            return shown

    destination = model_folder(model_id)
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
    load_clip(str(staging))  # refuse a download that does not load
    install_folder(staging, destination)
    return destination


def import_clip(source: Path, model_id: str = DEFAULT_CLIP) -> Path:
    """Check that ``source`` holds a loadable CLIP checkpoint, then copy it into the models folder."""
    if not source.is_dir():
        raise ModelMissingError(f"{source} {'is a file' if source.exists() else 'does not exist'}: give the folder "
                                "a CLIP model was saved in (save_pretrained).")
    if not (source / "config.json").is_file():
        raise ModelMissingError(f"{source} does not hold a saved CLIP model (no config.json).")
    load_clip(str(source))  # refuse a copy that does not load
    destination = model_folder(model_id)
    copy_model_folder(source, destination)
    return destination
