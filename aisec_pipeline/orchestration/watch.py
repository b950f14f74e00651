"""Cheap watching of input files for a sensor: a file is hashed again only when its size or
mtime moved since the last tick, and its content decides (a touched but unchanged file keeps its
version). Plain Python: the sensor keeps `entries` in its cursor."""

from __future__ import annotations

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
