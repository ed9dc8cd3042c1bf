"""Content digests: one algorithm (SHA-256) and one length for every cache key and identity.

    digest({"parent": ..., "step": ...})      # canonical JSON of any JSON-able object
    file_digest(path)                         # the bytes of a file
    Hasher().update("text").update(b"bytes").hexdigest()
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

DIGEST_CHARS = 16  # 64 bits: collisions are out of reach for the few thousand keys a cache holds


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


def digest(obj) -> str:
    """Digest of an object's canonical JSON (key order does not matter)."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:DIGEST_CHARS]


class Hasher:
    """Incremental digest of text, bytes and files, cut to DIGEST_CHARS."""

    def __init__(self):
        self._sha = hashlib.sha256()

    def update(self, part: str | bytes) -> "Hasher":
        self._sha.update(part.encode() if isinstance(part, str) else part)
        return self

    def update_file(self, path: str | Path) -> "Hasher":
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                self._sha.update(block)
        return self

    def hexdigest(self) -> str:
        return self._sha.hexdigest()[:DIGEST_CHARS]


def file_digest(path: str | Path) -> str:
    return Hasher().update_file(path).hexdigest()


def source_digest(*folders: Path) -> str:
    """Digest of the Python sources under `folders` (paths and bytes): a cache key part that changes
    with the code that produced what is cached."""
    hasher = Hasher()
    for folder in folders:
        folder = Path(folder)
        for path in sorted(folder.rglob("*.py")):
            hasher.update(f"{folder.name}/{path.relative_to(folder).as_posix()}").update_file(path)
    return hasher.hexdigest()
