"""Stream views that keep memory bounded while parsers walk untrusted bytes.

`SkippingReader` hands pickletools a placeholder instead of the payload of any huge read (tensor
bytes), seeking over it. `SplicedReader` shows engines only the pickle-opcode ranges of a stream,
so raw array bytes that joblib or legacy torch store between or after opcodes are never parsed
as opcodes.
"""

from __future__ import annotations

import io
from typing import BinaryIO

LARGE_READ = 1 << 20
CHUNK = 8 << 20


class SkippedBytes(bytes):
    """Empty bytes that report the length of the payload that was skipped."""

    def __new__(cls, length: int) -> "SkippedBytes":
        obj = super().__new__(cls, b"")
        obj.skipped = length
        return obj

    def __len__(self) -> int:
        return self.skipped

    def __repr__(self) -> str:
        return f"<{self.skipped} bytes skipped>"


def skip_forward(stream: BinaryIO, count: int) -> int:
    """Advance `count` bytes; return how many were actually available."""
    if stream.seekable():
        start = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        target = min(end, start + count)
        stream.seek(target)
        return target - start
    skipped = 0
    while skipped < count:
        chunk = stream.read(min(CHUNK, count - skipped))
        if not chunk:
            break
        skipped += len(chunk)
    return skipped


class SkippingReader(io.RawIOBase):
    """Read-only view of [start, end) of a seekable stream; huge reads are skipped, not loaded.

    The position is tracked here rather than asked of the stream: `tell()` on a buffered file is
    a system call, and pickletools asks for it before every opcode. Nothing else may move `raw`
    while this view is in use."""

    def __init__(self, raw: BinaryIO, start: int = 0, end: int | None = None) -> None:
        super().__init__()
        self.raw = raw
        self.start = start
        self.end = raw.seek(0, io.SEEK_END) if end is None else end
        self.pos = raw.seek(start)  # absolute offset in raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos - self.start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self.end - self.start}[whence]
        target = max(0, min(base + offset, self.end - self.start))
        self.pos = self.raw.seek(self.start + target)
        return target

    def remaining(self) -> int:
        return self.end - self.pos

    def read(self, size: int = -1) -> bytes:
        left = self.end - self.pos
        size = left if size is None or size < 0 or size > left else size
        if size > LARGE_READ:
            skipped = skip_forward(self.raw, size)
            self.pos += skipped
            return SkippedBytes(skipped)
        data = self.raw.read(size)
        self.pos += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        limit = self.remaining() if size is None or size < 0 else min(size, self.remaining())
        line = self.raw.readline(min(limit, LARGE_READ))
        self.pos += len(line)
        return line


class SplicedReader(SkippingReader):
    """Concatenation of byte ranges of one stream, seen as one contiguous stream."""

    def __init__(self, raw: BinaryIO, ranges: list[tuple[int, int]]) -> None:
        self.ranges = [(a, b) for a, b in ranges if b > a]
        self.total = sum(b - a for a, b in self.ranges)
        self.pos = 0
        super().__init__(raw, 0, None)

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.total}[whence]
        self.pos = max(0, min(base + offset, self.total))
        return self.pos

    def remaining(self) -> int:
        return self.total - self.pos

    def _locate(self) -> tuple[int, int]:
        """Raw offset of the current position and bytes left in its range."""
        passed = 0
        for start, end in self.ranges:
            if self.pos < passed + (end - start):
                return start + self.pos - passed, end - start - (self.pos - passed)
            passed += end - start
        return 0, 0

    def read(self, size: int = -1) -> bytes:
        size = self.remaining() if size is None or size < 0 else min(size, self.remaining())
        if size > LARGE_READ:
            self.pos += size
            return SkippedBytes(size)
        parts = []
        while size > 0:
            offset, left = self._locate()
            take = min(size, left)
            self.raw.seek(offset)
            part = self.raw.read(take)
            if not part:
                break
            parts.append(part)
            self.pos += len(part)
            size -= len(part)
        return b"".join(parts)

    def readline(self, size: int = -1) -> bytes:
        line = bytearray()
        limit = min(LARGE_READ, self.remaining() if size is None or size < 0 else size)
        while len(line) < limit:
            byte = self.read(1)
            if not byte:
                break
            line += byte
            if byte == b"\n":
                break
        return bytes(line)
