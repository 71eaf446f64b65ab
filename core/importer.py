"""Importing a dataset in the original layout (a CSV beside an ``Images/`` folder, or a zip of it)
into the project's data folder, in the layout Vitrine reads (CSV + ``images/``).

An import only ever deletes what an earlier import wrote: it lists its files in a manifest inside the
destination, builds the new dataset in a fresh staging folder beside it, validates it, and only then
moves it in. Files it did not write (a zip kept there, notes, another dataset) are never touched.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from core.archive import SizeBudget, copy_limited, extract_dataset_zip
from core.dataset import Dataset, load_dataset
from core.errors import DatasetError
from core.images import PHOTO_SUFFIXES
from core.locations import CSV_NAME, IMAGES_DIR_NAME, find_csv, find_images_dir

# The list of files an import wrote, kept in the destination: the only files a later import may remove.
MANIFEST_NAME = ".vitrine-import.json"


def import_dataset(source: Path, destination: Path, replace: bool = False,
                   require_photos: bool = False) -> Dataset:
    """Copy the CSV and photos from ``source`` (folder or .zip) into ``destination`` and load them.

    Refuses to overwrite an earlier import unless ``replace``, and then removes only the files that
    import wrote. Files in ``destination`` that no import wrote are kept; the import is refused when
    it would have to overwrite one, or when they already form a dataset. Members of a zip that would
    land outside the destination are never written. Sizes are capped (see core.archive); with
    ``require_photos`` a zip without any photo in the Images/ folder beside its CSV is refused.
    """
    if not source.exists():
        raise DatasetError(f"{source} does not exist.")
    previous = check_destination(destination, replace)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        # A fresh, uniquely named folder beside the destination: same disk (moves are renames), and
        # nothing that already exists is ever written to or removed while the import runs.
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-importing-", dir=destination.parent))
    except OSError as exc:
        raise DatasetError(f"Cannot write beside {destination}: {exc}.") from exc
    try:
        (staging / IMAGES_DIR_NAME).mkdir()
        if source.is_dir():
            _copy_folder(source, staging)
        elif source.suffix.lower() == ".zip" or zipfile.is_zipfile(source):
            extract_dataset_zip(source, staging, require_photos)
        else:
            raise DatasetError(f"{source} is neither a folder nor a zip file.")
        load_dataset(staging)  # validate before anything in the destination changes
        _move_in(staging, destination, previous)
    except OSError as exc:  # a full disk, a read-only folder: the reason, not a stack trace
        raise DatasetError(f"The import of {source.name} stopped: {exc}.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return load_dataset(destination)


def check_destination(destination: Path, replace: bool) -> set[str]:
    """The files an earlier import wrote into ``destination``, once it is clear an import may go there:
    raises DatasetError when it holds an earlier import and not ``replace``, or a dataset no import wrote."""
    if destination.exists() and not destination.is_dir():
        raise DatasetError(f"{destination} is a file, not a folder; the dataset cannot be imported there.")
    previous = _read_manifest(destination)
    if previous and not replace:
        raise DatasetError(f"{destination} already holds an imported dataset; pass --replace to overwrite it.")
    if not previous and (existing := find_csv(destination)) is not None:
        raise DatasetError(f"{destination} already holds a dataset that was not imported here ({existing.name}). "
                           "Vitrine never deletes files it did not write: move that dataset away, or set "
                           "VITRINE_DATA_DIR to another folder for the import.")
    return previous


def _read_manifest(destination: Path) -> set[str]:
    """The files an earlier import wrote into ``destination`` (relative paths); empty when none did."""
    path = destination / MANIFEST_NAME
    if not path.is_file():
        return set()
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        if not isinstance(files, list) or not all(isinstance(name, str) and _is_ours(name) for name in files):
            raise ValueError("unexpected entries")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"The import record {path} is damaged ({exc}), so Vitrine cannot tell which files it "
                           "wrote there. Move the folder away and import again.") from exc
    return set(files)


def _is_ours(name: str) -> bool:
    """Whether a manifest entry names a file an import can write: the CSV or a photo in images/."""
    parts = PurePosixPath(name).parts
    return name == CSV_NAME or (len(parts) == 2 and parts[0] == IMAGES_DIR_NAME and parts[1] not in {".", ".."})


def _move_in(staging: Path, destination: Path, previous: set[str]) -> None:
    """Replace the files of the previous import with the staged ones, touching nothing else."""
    new = {path.relative_to(staging).as_posix() for path in staging.rglob("*") if path.is_file()}
    manifest = {"files": sorted(new)}
    if not destination.exists():
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        staging.rename(destination)
        return
    images = destination / IMAGES_DIR_NAME
    taken = [IMAGES_DIR_NAME] if images.is_symlink() or (images.exists() and not images.is_dir()) else []
    taken += [name for name in sorted(new) if _occupied(destination / name) and not
              (name in previous and (destination / name).is_file() and not (destination / name).is_symlink())]
    if taken:
        shown = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        raise DatasetError(f"{destination} already holds {shown}, which no import wrote; Vitrine never overwrites "
                           "files it did not write. Move them away, or import into another folder with "
                           "VITRINE_DATA_DIR.")
    # Written first with both lists, so an interrupted import still knows every file it may remove.
    _write_manifest(destination, {"files": sorted(new | previous)})
    for name in previous - new:
        old = destination / name
        if old.is_file() and not old.is_symlink():
            old.unlink()
    images.mkdir(exist_ok=True)
    for name in sorted(new):
        shutil.move(staging / name, destination / name)
    _write_manifest(destination, manifest)


def _occupied(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _write_manifest(destination: Path, manifest: dict) -> None:
    partial = destination / f"{MANIFEST_NAME}.partial"
    partial.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    partial.replace(destination / MANIFEST_NAME)


def _copy_folder(source: Path, staging: Path) -> None:
    csv_path = find_csv(source)
    if csv_path is None:
        raise DatasetError(f"No listings CSV (or more than one) in {source}.")
    images = find_images_dir(source)
    entries = sorted(images.iterdir()) if images.is_dir() and not images.is_symlink() else []
    # A link can point at any file on the machine: refused, as the loader refuses photos outside images/.
    links = [path.relative_to(source).as_posix() for path in [csv_path, images, *entries] if path.is_symlink()]
    if links:
        shown = ", ".join(links[:5]) + (f" and {len(links) - 5} more" if len(links) > 5 else "")
        raise DatasetError(f"{source} holds symbolic links ({shown}); the import copies real files only. "
                           "Replace each link with the file itself.")
    budget = SizeBudget()
    photos = [path for path in entries if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES]
    for path, target in [(csv_path, staging / CSV_NAME)] + [(p, staging / IMAGES_DIR_NAME / p.name) for p in photos]:
        with path.open("rb") as read:
            copy_limited(read, target, path.relative_to(source).as_posix(), budget)
