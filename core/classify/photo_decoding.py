"""A batch's photos, decoded one chunk ahead of the model: by Pillow in worker threads, or, for a
scenario that runs on a GPU, read in worker threads and decoded on the GPU itself
(``core.classify.gpu_photo_decoding``), so that decoding keeps up with a model that embeds thousands of photos
a second.

Every photo ends up as one of: a PIL image (decoded on the CPU), a uint8 tensor (3, side, side) on the
GPU (decoded there, upright, padded to a centred white square like ``core.images.to_square``), the
reason it cannot be used (a string), or None (the row names no photo).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from core.classify.batch_input import BatchRows
from core.errors import ImageError
from core.images import open_image


def is_photo(photo: object) -> bool:
    """Whether a decoded photo can be read by the model (not a reason, not None)."""
    return photo is not None and not isinstance(photo, str)


def decode_photo(path: Path | None) -> Image.Image | str | None:
    """A photo decoded as every scenario reads it, or why it cannot be used (run in worker threads)."""
    if path is None:
        return None
    try:
        return open_image(path)
    except ImageError as exc:
        return str(exc)


class _InProcess(Executor):
    """Decoding in this process: for scenarios that read no photo (nothing to decode) or one worker."""

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        return map(fn, *iterables)


def photo_decoder(reads_photo: bool, workers: int) -> Executor:
    """Worker threads that decode photos: Pillow releases the GIL while it decodes and resizes, and
    threads spare sending each decoded photo between processes."""
    if not reads_photo or workers <= 1:
        return _InProcess()
    return ThreadPoolExecutor(max_workers=workers)


def decode_photos(paths: list[Path | None]) -> list:
    """A group of photos decoded by Pillow (one task of a worker thread)."""
    return [decode_photo(path) for path in paths]


def decoded_ahead(chunks: Iterator[BatchRows], pool: Executor, decode: Callable[[list], list] = decode_photos,
                  group: int = 8) -> Iterator[tuple[BatchRows, list]]:
    """Each chunk with its photos as ``decode`` gives them for groups of ``group`` paths, the next
    chunk's being decoded meanwhile."""
    previous = None
    for chunk in chunks:
        # Submitted at once: the workers decode while the previous chunk is classified.
        groups = [chunk.photos[start:start + group] for start in range(0, len(chunk.photos), group)]
        decoding = pool.map(decode, groups) if any(chunk.photos) else [chunk.photos]
        if previous is not None:
            yield previous[0], [photo for part in previous[1] for photo in part]
        previous = (chunk, decoding)
    if previous is not None:
        yield previous[0], [photo for part in previous[1] for photo in part]
