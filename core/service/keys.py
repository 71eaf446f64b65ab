"""API keys: each a random secret shown once, stored only as its SHA-256 hash (the secret has 256 random
bits, so a plain hash cannot be guessed back), with a name and the rights it grants."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from core.errors import VitrineError

RIGHTS = ("classify", "explain", "advice", "review")  # review: send listings to the operators' queue
KEY_PREFIX = "vk_"
MAX_NAME_CHARS = 64


@dataclass(frozen=True)
class ApiKey:
    """A key's record: never the secret itself."""

    name: str
    rights: tuple[str, ...]
    created: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyStore:
    """The keys of one workspace, in a JSON file written atomically."""

    def __init__(self, path: Path):
        self.path = path
        self._seen: tuple[tuple[int, int], dict] | None = None  # (the file's mtime and size, its keys)

    def _read(self) -> dict:
        """The keys, read again only when the file changed (a request checks its key without reading it)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise VitrineError(f"The key file {self.path} cannot be read ({exc}).") from exc
        version = (stat.st_mtime_ns, stat.st_size)
        if self._seen is not None and self._seen[0] == version:
            return self._seen[1]
        try:
            keys = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VitrineError(f"The key file {self.path} cannot be read ({exc}); restore it or remove it and "
                               "create the keys again.") from exc
        self._seen = (version, keys)
        return keys

    def _write(self, keys: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".keys.", suffix=".partial")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(keys, out, indent=1)
        os.replace(temporary, self.path)  # private (0600), as mkstemp makes it: it holds the hashes

    def create(self, name: str, rights: tuple[str, ...] = RIGHTS) -> str:
        """A new key for ``name`` with ``rights``; the secret is returned once and never stored."""
        if not name or len(name) > MAX_NAME_CHARS or not name.replace("-", "").replace("_", "").isalnum():
            raise VitrineError(f"A key's name is 1 to {MAX_NAME_CHARS} letters, digits, '-' or '_'; got {name!r}.")
        unknown = set(rights) - set(RIGHTS)
        if unknown or not rights:
            raise VitrineError(f"Rights are some of: {', '.join(RIGHTS)}; got {', '.join(rights) or 'none'}.")
        keys = dict(self._read())
        if name in keys:
            raise VitrineError(f"A key named {name!r} exists already: revoke it first, or choose another name.")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        keys[name] = {"sha256": _digest(secret), "rights": list(rights),
                      "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self._write(keys)
        return secret

    def list(self) -> list[ApiKey]:
        """Every key's name, rights and creation time."""
        return [ApiKey(name, tuple(record["rights"]), record["created"])
                for name, record in sorted(self._read().items())]

    def revoke(self, name: str) -> None:
        """Remove a key: requests with it are refused from then on."""
        keys = dict(self._read())
        if name not in keys:
            raise VitrineError(f"There is no key named {name!r}.")
        del keys[name]
        self._write(keys)

    def verify(self, secret: str) -> ApiKey | None:
        """The key a secret belongs to, or None."""
        digest = _digest(secret)
        for name, record in self._read().items():
            if hmac.compare_digest(record["sha256"], digest):
                return ApiKey(name, tuple(record["rights"]), record["created"])
        return None
