"""Streaming SHA-256 of a file: one reusable 8 MiB buffer, no per-chunk allocation."""

from __future__ import annotations

import hashlib
from pathlib import Path

BUFFER_SIZE = 8 * 1024 * 1024


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    buffer = bytearray(BUFFER_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            digest.update(view[:count])
    return digest.hexdigest()
