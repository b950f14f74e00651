"""Cheap watching of input files for a sensor: a file is hashed again only when its size or
mtime moved since the last tick, and its content decides (a touched but unchanged file keeps its
version). Plain Python. The (size, mtime, sha256) entries are a cache in a file beside the
instance's storage, not the sensor's cursor (Dagster stores a cursor with every tick): losing it
costs one re-hash of every file, never a wrong version."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..provenance.digest import sha256_file

MISSING = "missing"


class FileHashes:
    """sha256 of files, remembered by (size, mtime_ns) between ticks."""

    def __init__(self, entries: dict[str, list] | None = None):
        self._known = dict(entries or {})
        self.entries: dict[str, list] = {}  # what this tick saw: the next cursor
        self.hashed = 0  # files whose content was read this tick

    def sha256(self, path: Path) -> str:
        name = str(path)
        try:
            stat = path.stat()
        except OSError:
            return MISSING
        if not path.is_file():
            return MISSING
        known = self._known.get(name)
        if known is not None and known[:2] == [stat.st_size, stat.st_mtime_ns]:
            digest = known[2]
        else:
            digest = sha256_file(path)
            self.hashed += 1
        self.entries[name] = [stat.st_size, stat.st_mtime_ns, digest]
        return digest

    @classmethod
    def load(cls, path: Path) -> "FileHashes":
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = None  # no cache yet, or unreadable: every file is hashed
        return cls(entries if isinstance(entries, dict) else None)

    def save(self, path: Path) -> None:
        """Write the entries this tick saw, atomically, when they differ from the cache's."""
        if self.entries == self._known:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".file_hashes-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(self.entries, out)
        os.replace(temporary, path)
