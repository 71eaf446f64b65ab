"""Importing a dataset in the original layout (a CSV beside an ``Images/`` folder, or a zip of it)
into the project's data folder, in the layout Vitrine reads (CSV + ``images/``)."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

from core.dataset import Dataset, load_dataset
from core.errors import DatasetError, UnsafeImageNameError
from core.images import resolve_image_path
from core.locations import CSV_NAME, IMAGES_DIR_NAME, find_csv, find_images_dir

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def import_dataset(source: Path, destination: Path, replace: bool = False) -> Dataset:
    """Copy the CSV and photos from ``source`` (folder or .zip) into ``destination`` and load them.

    Refuses to overwrite an existing dataset unless ``replace``; members of a zip that would land
    outside the destination are never written.
    """
    if not source.exists():
        raise DatasetError(f"{source} does not exist.")
    if find_csv(destination) is not None and not replace:
        raise DatasetError(f"{destination} already holds a dataset; pass --replace to overwrite it.")
    staging = destination.with_name(destination.name + ".importing")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / IMAGES_DIR_NAME).mkdir(parents=True)
    try:
        if source.is_dir():
            _copy_folder(source, staging)
        elif zipfile.is_zipfile(source):
            _extract_zip(source, staging)
        else:
            raise DatasetError(f"{source} is neither a folder nor a zip file.")
        load_dataset(staging)  # validate before replacing anything
        shutil.rmtree(destination, ignore_errors=True)
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return load_dataset(destination)


def _copy_folder(source: Path, staging: Path) -> None:
    csv_path = find_csv(source)
    if csv_path is None:
        raise DatasetError(f"No listings CSV (or more than one) in {source}.")
    shutil.copy2(csv_path, staging / CSV_NAME)
    images = find_images_dir(source)
    for path in images.iterdir() if images.is_dir() else []:
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            shutil.copy2(path, staging / IMAGES_DIR_NAME / path.name)


def _extract_zip(source: Path, staging: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and "__MACOSX" not in m.filename]
        csvs = [m for m in members if m.filename.lower().endswith(".csv")]
        if len(csvs) != 1:
            raise DatasetError(f"{source.name} must hold exactly one CSV file; it holds {len(csvs)}.")
        csv_member = csvs[0]
        base = PurePosixPath(csv_member.filename).parent
        _extract_member(archive, csv_member, staging / CSV_NAME)
        for member in members:
            path = PurePosixPath(member.filename)
            if path.parent.parent != base or path.parent.name.lower() != "images":
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                target = resolve_image_path(staging / IMAGES_DIR_NAME, path.name)
            except UnsafeImageNameError:
                continue
            _extract_member(archive, member, target)


def _extract_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    with archive.open(member) as read, target.open("wb") as write:
        shutil.copyfileobj(read, write)
