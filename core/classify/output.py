"""Where a classify run writes its answers, checked before any model loads (or trains): a wrong name, an
output that would replace the input, or a folder that cannot be written is said at once, not after minutes
of work."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import BatchInputError
from core.locations import find_csv

OUTPUT_SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True)
class OutputTarget:
    """A run's output: one file (Parquet, or CSV when its name ends in .csv), or with ``shards`` a folder
    of Parquet shards (Ray engine only)."""

    path: Path
    shards: bool = False


def output_target(source: Path, out: str | None, scenario: str, engine: str = "local") -> OutputTarget:
    """The output ``out`` names (default: ``INPUT.<scenario>.parquet`` beside the input), checked: its kind
    fits the engine, it is not the input itself, and its folder can be written. BatchInputError says what
    is wrong."""
    path = Path(out) if out else source.with_name(f"{source.stem}.{scenario}.parquet")
    shards = bool(out) and (out.endswith(("/", os.sep)) or path.is_dir())
    if shards and engine != "ray":
        raise BatchInputError(f"{out} is a folder: the local engine writes one file (Parquet, or CSV when its name "
                              "ends in .csv); Parquet shards in a folder need --engine ray.")
    if not shards and path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise BatchInputError(f"{path.name}: the output is written as Parquet or CSV; give it a name ending in "
                              ".parquet or .csv.")
    if any(_same_file(path, read) for read in _files_read(source)):
        raise BatchInputError(f"{path} is the input itself: writing the answers there would replace the listings. "
                              "Give --out another name.")
    _check_writable(path.parent)
    return OutputTarget(path, shards)


def _files_read(source: Path) -> list[Path]:
    """The files a batch at ``source`` is read from: the file itself, or a folder's listings CSV."""
    if source.is_dir():
        listings = find_csv(source)
        return [listings] if listings is not None else []
    return [source]


def _same_file(output: Path, read: Path) -> bool:
    """Whether ``output`` is ``read`` under any name (a link, another spelling of the path, a hard link)."""
    try:
        return output.exists() and os.path.samefile(output, read)
    except OSError:
        return output.resolve() == read.resolve()


def _check_writable(folder: Path) -> None:
    """Make ``folder`` where it is missing and write a probe file in it: a folder that cannot be written says so
    now. (Trying is the only sure test: permissions, read-only mounts and a full disk all show here.)"""
    blocking = next((above for above in (folder, *folder.parents) if above.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise BatchInputError(f"The output cannot be written in {folder}: {blocking} is a file, not a folder. "
                              "Choose another --out.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".vitrine-probe."):
            pass
    except OSError as exc:
        raise BatchInputError(f"The output cannot be written in {folder} ({exc.strerror or exc}): choose another "
                              "--out, or a folder you can write to.") from exc
