"""The most one listing may hold where a seller sends it: the HTTP service refuses more, and the List a product
page says so before it advises, so that a seller meets the same limits in both. (A batch file's rows have limits
of their own, larger: one long row there costs its row only.)"""
from __future__ import annotations

MAX_TITLE_CHARS = 2_000
MAX_DESCRIPTION_CHARS = 50_000  # a description (or specifications) longer than this is refused, not cut
MAX_PHOTO_BYTES = 20 * 2**20
