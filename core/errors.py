"""Every error Vitrine raises on purpose, in one module (as scikit-learn keeps its exceptions).

Each message is written for the person using the product, so the pages and the command line show it
as it is: they catch ``VitrineError`` and never need to know which part of the product failed.
"""
from __future__ import annotations


class VitrineError(Exception):
    """Something the user can act on; the message says what went wrong and how to fix it."""


class DataNotFoundError(VitrineError):
    """No dataset folder could be found; the message says what to put where."""


class DatasetError(VitrineError):
    """The listings file cannot be used at all; the message says why in the user's words."""


class ArchiveError(DatasetError):
    """A zip that cannot be imported (damaged, encrypted, packed in an unknown way, a possible zip bomb)."""


class DownloadError(DatasetError):
    """The data set could not be fetched; the message names the address, the reason and the offline way."""


class DamagedVersionError(DatasetError):
    """A data version's files cannot be used; the message says what is wrong with them ("its version.json
    is missing"), and the caller names the version."""


class BatchInputError(VitrineError):
    """A batch of listings to classify cannot be read at all (a row that cannot be read only gets a status)."""


class ImageError(VitrineError):
    """A photo that cannot be used; the message is written for the person who supplied it."""


class UnsafeImageNameError(VitrineError):
    """An image name that would point outside the images folder."""


class NoPhotoError(VitrineError):
    """A scenario that reads only the photo was given a listing without one."""

    def __init__(self, message: str = "This scenario reads only the photo, and the listing has none."):
        super().__init__(message)


class ModelMissingError(VitrineError):
    """A model's weights are not on this machine; the message names what is missing and the fix."""


class ScenarioUnavailableError(VitrineError):
    """The scenario cannot run here (missing weights, say); the message tells the user how to fix it."""


class ReviewStoreError(VitrineError):
    """The answers could not be read or saved; the message says why in the operator's words."""


class JobCancelled(VitrineError):
    """Raised inside a job's work (``core.jobs``), at its next progress report, once someone cancelled it."""
