"""One reading of a file: the sha256 a scan reports is of exactly the bytes its formats analysed.

Formats seek (a zip's directory is at its end, safetensors never reads its tensor bytes) and
engines re-open the file, so no single sequential read can feed them all. Instead every read of
the scanned file goes through one `ReadLedger`: the first read of each 64 KiB block records the
block's sha256, and every later read of that block (a format re-opening the file, an engine, the
final hash pass) must find the same bytes. The final pass reads the file once, in order, into
the file's sha256, checking each block a format read on the way. If anything differs (a process
writing the file in place, truncating or growing it), the scan reports
`error.changed-while-scanned` and the digest is of no file: a scan can never pass on bytes other
than those its digest names.

Formats that only read by path (GGUF through numpy's memmap, Keras HDF5 through modelscan) are
given a private copy written through the ledger, so what they parse is verified the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator

BLOCK = 64 << 10
HASH_CHUNK = 8 << 20  # a multiple of BLOCK
# Formats whose parsers open the path themselves rather than a stream.
PATH_READERS = frozenset({"gguf", "hdf5"})


class ChangedWhileScanned(OSError):
    """The file's bytes differ between two reads of one scan."""


class ReadLedger:
    """One open file; every block's sha256 as first read, checked on every later read."""

    def __init__(self, path: str) -> None:
        self.path = path
        # Never follow a symlink, never block on a FIFO swapped in after the caller's check.
        self.fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        status = os.fstat(self.fd)
        if not stat.S_ISREG(status.st_mode):
            os.close(self.fd)
            raise OSError(f"{path} is not a regular file")
        self.size = status.st_size
        self._blocks: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self.changed: str | None = None

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> "ReadLedger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, index: int, data: bytes | memoryview) -> None:
        digest = hashlib.sha256(data).digest()
        with self._lock:
            known = self._blocks.setdefault(index, digest)
        if known != digest:
            self.changed = f"the bytes at offset {index * BLOCK} differ between two reads"
            raise ChangedWhileScanned(f"{self.path} changed while it was being scanned: {self.changed}")

    def read_at(self, offset: int, count: int) -> bytes:
        """`count` bytes (fewer at the end) from `offset`, each block checked against its first read."""
        count = max(0, min(count, self.size - offset))
        if count == 0:
            return b""
        first, last = offset // BLOCK, (offset + count - 1) // BLOCK
        data = os.pread(self.fd, (last - first + 1) * BLOCK, first * BLOCK)
        view = memoryview(data)
        for index in range(first, last + 1):
            self._check(index, view[(index - first) * BLOCK:(index - first + 1) * BLOCK])
        start = offset - first * BLOCK
        return bytes(view[start:start + count])

    def open(self) -> io.BufferedReader:
        return io.BufferedReader(LedgerReader(self), buffer_size=BLOCK)

    def finish(self) -> str:
        """The sha256 of the whole file in one sequential pass, checking every block a format read
        and the size. Raises ChangedWhileScanned when the file is not the one that was analysed."""
        digest = hashlib.sha256()
        buffer = bytearray(HASH_CHUNK)
        view = memoryview(buffer)
        offset = 0
        while count := os.preadv(self.fd, [buffer], offset):
            chunk = view[:count]
            digest.update(chunk)
            for index in range(offset // BLOCK, (offset + count + BLOCK - 1) // BLOCK):
                if index in self._blocks:
                    start = index * BLOCK - offset
                    self._check(index, chunk[start:start + BLOCK])
            offset += count
        if offset != self.size or os.fstat(self.fd).st_size != self.size:
            self.changed = f"its size changed from {self.size} to {offset} bytes"
            raise ChangedWhileScanned(f"{self.path} changed while it was being scanned: {self.changed}")
        return digest.hexdigest()

    @contextlib.contextmanager
    def private_copy(self) -> Iterator[str]:
        """A read-only copy, written through the ledger, for parsers that only take a path."""
        folder = tempfile.mkdtemp(prefix="aisec-scan-copy-")
        name = os.path.join(folder, os.path.basename(self.path)[-80:] or "artifact")
        try:
            with self.open() as source, open(name, "wb") as target:
                shutil.copyfileobj(source, target, HASH_CHUNK)
            os.chmod(name, 0o400)
            yield name
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class LedgerReader(io.RawIOBase):
    """A file-like view of the ledger's file with its own position (formats open many)."""

    def __init__(self, ledger: ReadLedger) -> None:
        super().__init__()
        self.ledger = ledger
        self.name = ledger.path
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.ledger.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer) -> int:
        data = self.ledger.read_at(self.pos, len(buffer))
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)
