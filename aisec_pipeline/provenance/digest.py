"""Streaming SHA-256 of a file: one reusable 8 MiB buffer, no per-chunk allocation; and a
private copy hashed as it is written, for readers that must judge exactly the bytes hashed."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


@contextmanager
def hashed_copy(path: Path, name: str | None = None) -> Iterator[tuple[Path, str]]:
    """(a read-only private copy of `path` taken in one read, the sha256 of its bytes): what is
    read from the copy is exactly what was hashed, whatever writes `path` meanwhile (a file
    flipped for the read and flipped back passes a hash-before-and-after check, not this).
    Removed on exit."""
    folder = tempfile.mkdtemp(prefix="aisec-private-copy-")
    copy = Path(folder) / (name or path.name)
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as source, open(copy, "wb") as target:
            while chunk := source.read(BUFFER_SIZE):
                digest.update(chunk)
                target.write(chunk)
        os.chmod(copy, 0o400)
        yield copy, digest.hexdigest()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
