"""Where model weights live on disk, and the one error raised when they are not there.

Weights are never fetched while loading: loading reads the local models folder only, so it fails
in well under a second without them. Downloading is an explicit command.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from core.locations import work_dirs


def model_folder(model_id: str) -> Path:
    """The folder a model is kept in: the id itself when it is a folder, else one under the models folder."""
    path = Path(model_id).expanduser()
    if path.is_dir():
        return path
    return work_dirs().models / model_id.replace("/", "--")


def folder_fingerprint(folder: Path) -> str:
    """A short hash of a saved model's files (names, sizes, config): caches are keyed by it, so
    replacing the weights never serves old embeddings."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}".encode())
        if path.suffix == ".json":
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def install_folder(staging: Path, destination: Path) -> None:
    """Put a complete model folder in place of ``destination`` (an older copy is replaced only now)."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(destination)


def copy_model_folder(source: Path, destination: Path) -> None:
    """Copy a saved model into the models folder."""
    staging = destination.with_name(destination.name + ".importing")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    install_folder(staging, destination)
