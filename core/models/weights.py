"""Where model weights live on disk, and the one error raised when they are not there.

Weights are never fetched while loading: loading reads the local models folder only, so it fails
in well under a second without them. Downloading is an explicit command.

The models folder (``models``) and the cache folder the weights' hashes are remembered in (``cache``) are
the workspace's (``core.workspace``), handed to each function by its caller.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from core.errors import ModelMissingError

# A hub id: a name, or an owner and a name, of letters, digits, '-', '_' and '.'.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?$")
EXAMPLE_ID = "openai/clip-vit-base-patch32"
# Written into every model folder Vitrine installs: only such folders are ever replaced.
VITRINE_MARK = ".vitrine-model"


def model_folder(model_id: str, models: Path) -> Path:
    """The folder a model is kept in: the id itself when it is a folder, else one under the models folder
    ``models``."""
    path = Path(model_id).expanduser()
    if path.is_dir():
        return path
    return models / model_id.replace("/", "--")


def file_fingerprint(path: Path, cache: Path) -> str:
    """A short hash of a weights file's content: the same weights give the same fingerprint on any
    machine, and different weights never share one. Computed once per path, size and modification time
    (reading a 600 MB checkpoint takes seconds) and remembered in the cache folder ``cache``."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo = _remembered_hashes(cache)
    if key not in memo:
        with path.open("rb") as handle:
            memo[key] = hashlib.file_digest(handle, "sha256").hexdigest()[:16]
        _remember_hashes(memo, cache)
    return memo[key]


def folder_fingerprint(folder: Path, cache: Path) -> str:
    """A short hash of a saved model's files (names and contents; Vitrine's mark left out): caches and
    results are keyed by it, so other weights under the same id never serve old embeddings. Each file's
    hash is remembered in ``cache`` (``file_fingerprint``)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != VITRINE_MARK):
        digest.update(f"{path.relative_to(folder).as_posix()}:{file_fingerprint(path, cache)}\n".encode())
    return digest.hexdigest()[:16]


def _hashes_file(cache: Path) -> Path:
    return cache / "weights-hashes.json"


def _remembered_hashes(cache: Path) -> dict[str, str]:
    try:
        return json.loads(_hashes_file(cache).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: hashes are computed again


def _remember_hashes(memo: dict[str, str], cache: Path) -> None:
    path = _hashes_file(cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(memo, out)
    os.replace(temporary, path)


def install_destination(model_id: str, models: Path) -> Path:
    """The folder a downloaded or imported model goes to: always one under the models folder ``models``, named after
    the id, and only where Vitrine may replace what is there (nothing, an empty folder, or a model folder
    Vitrine wrote). ModelMissingError otherwise, before anything is touched: a ``--model`` that names a
    folder elsewhere (``~``, ``..``) never leads to its deletion."""
    if not _HUB_ID.match(model_id) or ".." in model_id.split("/"):
        raise ModelMissingError(f"{model_id!r} is not a model id such as {EXAMPLE_ID}: a model is filed under the "
                                f"models folder ({models}) by its id, and never written into a folder "
                                "named by a path.")
    destination = models / model_id.replace("/", "--")
    _check_replaceable(destination, models)
    return destination


def _check_replaceable(destination: Path, models: Path) -> None:
    """ModelMissingError, naming the files, when ``destination`` exists and Vitrine may not replace it."""
    if not destination.exists():
        return
    replaceable, foreign = _replaceable(destination, models)
    if not replaceable:
        found = f" ({', '.join(foreign[:5])}{', …' if len(foreign) > 5 else ''})" if foreign else ""
        raise ModelMissingError(f"{destination} holds files Vitrine did not put there{found}, so it is left as it is "
                                "and nothing was installed: move them aside, then try again.")


def _replaceable(folder: Path, models: Path) -> tuple[bool, list[str]]:
    """Whether ``folder`` is one Vitrine may replace, and the files in it that Vitrine did not write: an empty
    folder; one carrying Vitrine's mark whose every file the mark lists (a mark without a list, from an
    earlier Vitrine, stands for the whole folder); or a model folder an earlier Vitrine wrote without a mark
    (a config.json directly inside, in the models folder ``models``)."""
    if not folder.is_dir() or folder.is_symlink():
        return False, []
    mark = folder / VITRINE_MARK
    if mark.is_file():
        written = set(mark.read_text(encoding="utf-8").splitlines()[1:])
        foreign = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                         if (p.is_file() or p.is_symlink()) and p != mark and str(p.relative_to(folder)) not in written)
        return not written or not foreign, foreign if written else []
    return not any(folder.iterdir()) or (folder.parent == models and (folder / "config.json").is_file()), []


def install_folder(staging: Path, destination: Path, models: Path) -> None:
    """Put a complete model folder in place of ``destination`` (an older copy is replaced only now), with
    Vitrine's mark in it listing the files it wrote, so that a later install knows the folder is Vitrine's to
    replace and never removes a file someone else put there (``models``: the models folder ``destination`` is
    in, see ``install_destination``)."""
    written = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    (staging / VITRINE_MARK).write_text("Written by Vitrine: replaced by the next download or import of this model, "
                                        "with the files listed below.\n" + "".join(f"{name}\n" for name in written),
                                        encoding="utf-8")
    _check_replaceable(destination, models)  # again: files may have been put there since the first check
    shutil.rmtree(destination, ignore_errors=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(destination)


def copy_model_folder(source: Path, destination: Path, models: Path) -> None:
    """Copy a saved model into ``destination`` in the models folder ``models`` (see ``install_folder``)."""
    staging = destination.with_name(destination.name + ".importing")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    install_folder(staging, destination, models)
