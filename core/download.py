"""Fetching the study's public data set (a zip of ``Flipkart/`` with the CSV and ``Images/``) and
importing it with the safe importer.

What arrives is checked before anything is imported: its size as it streams, that it is a zip, then
every check and limit of the import (one CSV with the required columns, photos in ``Images/``).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from core.archive import CHUNK_BYTES, MAX_TOTAL_BYTES, MB
from core.dataset import Dataset
from core.errors import DownloadError
from core.importer import check_destination, import_dataset

# Published with the study's assignment ("Place de Marché", OpenClassrooms data-scientist path).
DATASET_URL = ("https://s3-eu-west-1.amazonaws.com/static.oc-static.com/prod/courses/files/Parcours_data_scientist/"
               "Projet+-+Textimage+DAS+V2/Dataset+projet+pre%CC%81traitement+textes+images.zip")
DATASET_URL_ENV = "VITRINE_DATASET_URL"
# Seconds to wait for the connection and for each read: offline, the command fails within seconds.
TIMEOUT_S = 10
ALTERNATIVE = "download the zip on a machine with internet and run `python -m core data import PATH`"


def dataset_url() -> str:
    """The data set's address: ``$VITRINE_DATASET_URL`` when set, else the study's published zip."""
    return os.environ.get(DATASET_URL_ENV) or DATASET_URL


def download_dataset(destination: Path, replace: bool = False, url: str | None = None,
                     progress: Callable[[int, int | None], None] | None = None) -> Dataset:
    """Fetch the data set's zip into a temporary file beside ``destination``, check it and import it
    there (``replace`` as for ``data import``). ``progress(bytes_so_far, total_or_None)`` follows the
    transfer. Raises DownloadError naming the address, the reason and the offline alternative."""
    url = url or dataset_url()
    check_destination(destination, replace)  # before a long download, not after
    created = [folder for folder in (destination.parent, *destination.parent.parents) if not folder.exists()]
    try:
        return _download_and_import(url, destination, replace, progress)
    except BaseException:
        for folder in created:  # deepest first; only folders this download made, and only while empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _download_and_import(url: str, destination: Path, replace: bool,
                         progress: Callable[[int, int | None], None] | None) -> Dataset:
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Beside the destination, like the import's staging folder: the same disk, removed afterwards.
        temporary = tempfile.TemporaryDirectory(prefix=f".{destination.name}-download-", dir=destination.parent)
    except OSError as exc:
        raise DownloadError(f"Cannot write beside {destination}: {exc}.") from exc
    with temporary as folder:
        archive = Path(folder) / "dataset.zip"
        _fetch(url, archive, progress)
        if not zipfile.is_zipfile(archive):
            start = archive.read_bytes()[:60].decode("utf-8", "replace").strip()
            raise DownloadError(f"What {url} sent is not a zip file (it begins {start!r}); {ALTERNATIVE}.")
        return import_dataset(archive, destination, replace=replace, require_photos=True)


def _fetch(url: str, target: Path, progress: Callable[[int, int | None], None] | None) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, target.open("wb") as write:
            declared = response.headers.get("Content-Length")
            total = int(declared) if declared and declared.isdigit() else None
            if total is not None and total > MAX_TOTAL_BYTES:
                raise DownloadError(f"{url} offers {total / MB:.0f} MB, more than the {MAX_TOTAL_BYTES / MB:g} MB "
                                    "a dataset may hold; check the address.")
            done = 0
            while chunk := response.read(CHUNK_BYTES):
                done += len(chunk)
                if done > MAX_TOTAL_BYTES:  # a server may send more than it declared
                    raise DownloadError(f"{url} sent more than {MAX_TOTAL_BYTES / MB:g} MB, the most a dataset may "
                                        "hold; the download was stopped.")
                write.write(chunk)
                if progress is not None:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"Could not download {url}: the server answered {exc.code} {exc.reason}; "
                            f"{ALTERNATIVE}.") from exc
    except urllib.error.URLError as exc:
        raise DownloadError(f"Could not download {url}: {exc.reason}; {ALTERNATIVE}.") from exc
    except (OSError, ValueError) as exc:  # timeouts, resets mid-transfer, a malformed address
        raise DownloadError(f"Could not download {url}: {exc}; {ALTERNATIVE}.") from exc
