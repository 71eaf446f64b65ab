"""Unpacking a dataset zip within stated limits, streaming each member to disk.

A zip is data from elsewhere: a few megabytes can unpack to gigabytes, members can be encrypted,
damaged or packed with a method Python cannot read. Sizes are checked as declared before anything
is written and again as the bytes actually arrive; every failure is an ArchiveError naming the
member and the reason.
"""
from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from core.errors import ArchiveError, DatasetError, UnsafeImageNameError
from core.images import PHOTO_SUFFIXES, resolve_image_path
from core.locations import CSV_NAME, IMAGES_DIR_NAME

MB = 1_000_000
MAX_CSV_BYTES = 100 * MB  # the reference CSV is 1.7 MB
MAX_PHOTO_BYTES = 200 * MB  # the largest reference photo (93 megapixels) is far below
MAX_TOTAL_BYTES = 2_000 * MB  # CSV and photos together
# Files in one zip: unpacking 100,000 small members took 13 s before any check could say no.
MAX_MEMBERS = 50_000
# Photos barely compress and text about 5:1; far more than this is a zip bomb. Small members are exempt.
MAX_COMPRESSION_RATIO = 100
RATIO_EXEMPT_BYTES = 1 * MB
CHUNK_BYTES = 1 * MB

_ENCRYPTED = 0x1  # general-purpose flag bit 0 of a zip entry
Pick = tuple[zipfile.ZipInfo, Path]  # a member and the file it is written to


@dataclass
class SizeBudget:
    """The bytes written so far by one import, against MAX_TOTAL_BYTES."""

    written: int = 0

    def limit_for(self, name: str) -> int:
        """The most bytes a file of this name may hold."""
        return MAX_CSV_BYTES if name.lower().endswith(".csv") else MAX_PHOTO_BYTES


def copy_limited(read: BinaryIO, target: Path, name: str, budget: SizeBudget, packed_size: int | None = None) -> None:
    """Stream ``read`` into ``target`` in chunks, counting the bytes that actually arrive: refused
    (DatasetError) past the file's limit, the import's total, or MAX_COMPRESSION_RATIO x ``packed_size``."""
    limit = budget.limit_for(name)
    size = 0
    with target.open("wb") as write:
        while chunk := read.read(CHUNK_BYTES):
            size += len(chunk)
            budget.written += len(chunk)
            _check_size(name, size, limit, budget.written, packed_size)
            write.write(chunk)


def _check_size(name: str, size: int, limit: int, total: int, packed_size: int | None) -> None:
    if size > limit:
        raise DatasetError(f"{name} is larger than {limit / MB:g} MB, the most accepted for a "
                           f"{'listings CSV' if limit == MAX_CSV_BYTES else 'photo'}; it is not imported.")
    if total > MAX_TOTAL_BYTES:
        raise DatasetError(f"The dataset is larger than {MAX_TOTAL_BYTES / MB:g} MB in all, the most accepted; "
                           f"the import stopped at {name}.")
    if packed_size is not None and size > RATIO_EXEMPT_BYTES and size > MAX_COMPRESSION_RATIO * max(packed_size, 1):
        raise ArchiveError(f"{name} unpacks to more than {MAX_COMPRESSION_RATIO} times its packed size; it is refused "
                           "as a possible zip bomb.")


def extract_dataset_zip(source: Path, staging: Path, require_photos: bool = False) -> None:
    """Write the zip's one CSV and the photos of the ``Images/`` folder beside it into ``staging``
    (as ``CSV_NAME`` and ``images/``). Members that would land outside are skipped; with
    ``require_photos`` a zip without any photo there is refused."""
    def chosen(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, Path]]:
        csv_member, photos = _dataset_members(source, archive, staging / IMAGES_DIR_NAME)
        if require_photos and not photos:
            raise ArchiveError(f"{source.name} holds no photos in an Images/ folder beside its CSV "
                               f"({csv_member.filename}); it is not the expected dataset.")
        return [(csv_member, staging / CSV_NAME)] + photos

    _extract(source, chosen)


def extract_batch_zip(source: Path, staging: Path, photos: bool = True) -> dict[Path, str]:
    """Write a batch zip's one CSV into ``staging`` (as ``CSV_NAME``) and, with ``photos``, every photo below
    the CSV's folder at its path from there, so that a photo column finds them as it would in the folder
    zipped (``images/x.jpg``, ``photos/x.jpg``...). A photo that cannot be unpacked (larger than
    MAX_PHOTO_BYTES, damaged, encrypted, packed in an unknown way) stays packed: only the rows that name it
    lose it. Returns those photos, by the resolved path they would have had, each with the reason."""
    root = staging.resolve()

    def chosen(archive: zipfile.ZipFile) -> tuple[list[Pick], list[Pick]]:
        members = _members(archive)
        csv_member = _the_csv(source, members)
        below = _photos_below(members, PurePosixPath(csv_member.filename).parent, root) if photos else ()
        return [(csv_member, staging / CSV_NAME)], list(below)

    return _extract_batch(source, chosen)


def extract_photos_zip(source: Path, folder: Path) -> dict[Path, str]:
    """Write the zip's photos into ``folder``, each at its path inside the zip (so a CSV's relative photo
    paths find them), within the import's limits; members that would land outside ``folder`` and files
    that are not photos are skipped. A photo that cannot be unpacked stays packed, as in
    ``extract_batch_zip``: returns those, by the resolved path they would have had, each with the reason."""
    root = folder.resolve()
    return _extract_batch(source, lambda archive: ([], list(_photos_below(_members(archive), PurePosixPath("."),
                                                                            root))))


def _extract_batch(source: Path, choose) -> dict[Path, str]:
    """Unpack a batch zip: the files ``choose`` gives first must all be written; of the photos it gives next,
    each one that cannot be is left packed and returned with the reason, by its target path."""
    withheld: dict[Path, str] = {}

    def written(archive: zipfile.ZipFile) -> list[tuple]:
        required, photos = choose(archive)
        kept = []
        for member, target in photos:
            if problem := _declared_problem(member):
                withheld[target] = _left_packed(target, problem)
            else:
                kept.append((member, target, withheld))
        return required + kept

    _extract(source, written)
    return withheld


def _left_packed(target: Path, problem: str) -> str:
    return f"the photo {target.name} {problem}; it was left in the zip"


def _declared_problem(member: zipfile.ZipInfo) -> str | None:
    """Why a photo member cannot be unpacked, from what the zip declares of it; None when it can be tried."""
    if member.flag_bits & _ENCRYPTED:
        return "is password-protected"
    if member.file_size > MAX_PHOTO_BYTES:
        return f"is larger than {MAX_PHOTO_BYTES / MB:g} MB, the most accepted"
    size = member.file_size
    if size > RATIO_EXEMPT_BYTES and size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
        return f"unpacks to more than {MAX_COMPRESSION_RATIO} times its packed size (a possible zip bomb)"
    return None


def _extract(source: Path, choose) -> list[tuple]:
    """Write the members ``choose`` picks from the zip, each to its path, within the limits: what the zip
    declares is checked before anything is written, and what arrives as it is written. A pick given with a
    dict as its third part is a photo that may fail alone: its failure is noted there, by its target path,
    and its partial file removed."""
    try:
        with zipfile.ZipFile(source) as archive:
            if len(archive.infolist()) > MAX_MEMBERS:
                raise ArchiveError(f"{source.name} holds {len(archive.infolist()):,} files, more than the "
                                   f"{MAX_MEMBERS:,} a zip may hold; split it, or give the folder instead.")
            chosen = choose(archive)
            _check_declared(source, [pick[:2] for pick in chosen])
            budget = SizeBudget()
            for member, target, *failures in chosen:
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    _extract_member(source, archive, member, target, budget)
                except DatasetError as exc:
                    if not failures or budget.written > MAX_TOTAL_BYTES:
                        raise
                    target.unlink(missing_ok=True)
                    why = str(exc.__cause__ or exc).splitlines()[0].rstrip(".")  # zipfile's own words, if any
                    failures[0][target] = _left_packed(target, f"cannot be unpacked: {why}")
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{source.name} is not a readable zip file ({exc}); it may be damaged or truncated: "
                           "download or create it again.") from exc
    return chosen


def _members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The zip's files, without folders and the resource forks macOS adds."""
    return [m for m in archive.infolist() if not m.is_dir() and "__MACOSX" not in m.filename]


def _photos_below(members: list[zipfile.ZipInfo], base: PurePosixPath,
                  root: Path) -> Iterator[tuple[zipfile.ZipInfo, Path]]:
    """Each photo member below ``base`` in the zip, with the resolved path in ``root`` its path from
    ``base`` gives it; members that would land outside ``root`` are left out."""
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.suffix.lower() not in PHOTO_SUFFIXES or path.is_absolute() or not path.is_relative_to(base):
            continue
        target = (root / path.relative_to(base)).resolve()
        if root in target.parents:
            yield member, target


def _the_csv(source: Path, members: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    csvs = [m for m in members if m.filename.lower().endswith(".csv")]
    if len(csvs) != 1:
        named = f" ({', '.join(m.filename for m in csvs[:5])})" if csvs else ""
        raise DatasetError(f"{source.name} must hold exactly one CSV file; it holds {len(csvs)}{named}.")
    return csvs[0]


def _dataset_members(source: Path, archive: zipfile.ZipFile,
                     images: Path) -> tuple[zipfile.ZipInfo, list[tuple[zipfile.ZipInfo, Path]]]:
    """The CSV member, and each photo member with the path in ``images`` it is written to."""
    members = _members(archive)
    csv_member = _the_csv(source, members)
    base = PurePosixPath(csv_member.filename).parent
    photos = []
    for member in members:
        path = PurePosixPath(member.filename)
        if path.parent.parent != base or path.parent.name.lower() != "images":
            continue
        if path.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        try:
            photos.append((member, resolve_image_path(images, path.name)))
        except UnsafeImageNameError:
            continue
    return csv_member, photos


def _check_declared(source: Path, chosen: list[tuple[zipfile.ZipInfo, Path]]) -> None:
    """Refuse before writing anything when the zip's own directory announces too much."""
    budget = SizeBudget()
    for member, _ in chosen:
        if member.flag_bits & _ENCRYPTED:
            raise ArchiveError(f"{member.filename} in {source.name} is password-protected; Vitrine imports "
                               "unencrypted zips only: extract it and import the folder instead.")
        budget.written += member.file_size
        _check_size(member.filename, member.file_size, budget.limit_for(member.filename), budget.written,
                    member.compress_size)


def _extract_member(source: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path,
                    budget: SizeBudget) -> None:
    try:
        with archive.open(member) as read:
            copy_limited(read, target, member.filename, budget, member.compress_size)
    except NotImplementedError as exc:
        raise ArchiveError(f"{member.filename} in {source.name} is packed with a method Vitrine cannot read ({exc}); "
                           "re-create the zip with ordinary (deflate) compression.") from exc
    except RuntimeError as exc:  # what zipfile raises for encryption it detects itself
        raise ArchiveError(f"{member.filename} in {source.name} cannot be read: {exc}.") from exc
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{member.filename} in {source.name} is damaged ({exc}); download or create the zip "
                           "again.") from exc
