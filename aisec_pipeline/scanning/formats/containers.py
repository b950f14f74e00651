"""Compressed streams (gzip, bz2, xz, lzma, zlib, zstd, lz4: joblib's compressors and `.pkl.gz`
and friends) and archives (tar, hence `.nemo` and `.tar.gz` checkpoints; 7z through py7zr).

Each is decompressed or unpacked as a stream into a temporary file, under limits against bombs:
at most RATIO_LIMIT bytes out per byte in (never less than RATIO_FLOOR) and MAX_OUTPUT in all.
The content is then judged like any file, by what it is (a pickle, a config, another archive),
with the member's name kept for its role. Nothing is executed or loaded.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

from ..context import MAX_ARCHIVE_DEPTH, ScanContext, Source, inner
from .base import ENGINE

CHUNK = 8 << 20
RATIO_LIMIT = 1000  # model pickles compress 2-10x; a run of zeros 1000x; bombs far more
RATIO_FLOOR = 256 << 20  # small inputs may expand to this much whatever their ratio
MAX_OUTPUT = 64 << 30
MAX_MEMBERS = 100_000

# Magic -> codec; zlib and lzma-alone have no magic and are recognised by header arithmetic.
MAGICS = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd",
          b"\x04\x22\x4d\x18": "lz4"}


def sniff_compressed(head: bytes) -> str | None:
    for magic, codec in MAGICS.items():
        if head.startswith(magic):
            return codec
    if len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0:
        return "zlib"  # joblib compress="zlib" (and True): a bare zlib stream
    if head[:3] == b"\x5d\x00\x00" and len(head) >= 13:
        return "lzma"  # joblib compress="lzma": the lzma "alone" format (no pickle starts "]\0")
    return None


def is_tar(head: bytes) -> bool:
    return head[257:262] == b"ustar"


class BombError(Exception):
    """Decompression would exceed the limits."""


def _limit(compressed: int) -> int:
    return min(MAX_OUTPUT, max(RATIO_FLOOR, RATIO_LIMIT * max(compressed, 1)))


def _decompressing(codec: str, raw: BinaryIO) -> BinaryIO:
    import bz2
    import gzip
    import lzma

    if codec == "gzip":
        return gzip.GzipFile(fileobj=raw)
    if codec == "bz2":
        return bz2.BZ2File(raw)
    if codec in ("xz", "lzma"):
        return lzma.LZMAFile(raw, format=lzma.FORMAT_XZ if codec == "xz" else lzma.FORMAT_ALONE)
    if codec == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    if codec == "lz4":
        import lz4.frame

        return lz4.frame.LZ4FrameFile(raw)
    return _ZlibReader(raw)


class _ZlibReader:
    """A bare zlib stream read in chunks; bytes after its end are an error (a hidden payload)."""

    def __init__(self, raw: BinaryIO) -> None:
        import zlib

        self.raw, self.inflate = raw, zlib.decompressobj()

    def read(self, size: int) -> bytes:
        while True:
            if self.inflate.unconsumed_tail:
                out = self.inflate.decompress(self.inflate.unconsumed_tail, size)
            elif self.inflate.eof:
                if self.inflate.unused_data or self.raw.read(1):
                    raise ValueError("bytes follow the end of the zlib stream")
                return b""
            else:
                data = self.raw.read(CHUNK)
                if not data:
                    raise EOFError("the zlib stream ends before its end marker")
                out = self.inflate.decompress(data, size)
            if out:
                return out


def _copy_bounded(stream: BinaryIO, target: BinaryIO, limit: int) -> int:
    written = 0
    while chunk := stream.read(CHUNK):
        written += len(chunk)
        if written > limit:
            raise BombError(f"more than {limit:,} bytes")
        target.write(chunk)
    return written


@contextlib.contextmanager
def _spooled(label: str) -> Iterator[tuple[str, BinaryIO]]:
    import tempfile  # imported on use: sniffing imports this module for every file

    tail = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in posixpath.basename(label)[-40:])
    handle, name = tempfile.mkstemp(prefix="aisec-scan-", suffix="-" + tail)
    try:
        with os.fdopen(handle, "w+b") as target:
            yield name, target
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _nested(ctx: ScanContext, label: str) -> bool:
    if ctx.depth + 1 >= MAX_ARCHIVE_DEPTH:
        ctx.flag("zip.nesting-too-deep", f"containers nested deeper than {MAX_ARCHIVE_DEPTH}", label)
        return False
    return True


def _scan_extracted(name: str, size: int, label: str, ctx: ScanContext) -> str:
    from . import scan_source

    ctx.depth += 1
    try:
        return scan_source(Source(label, lambda: open(name, "rb"), size, path=name), ctx)
    finally:
        ctx.depth -= 1


def scan_compressed(source: Source, ctx: ScanContext) -> str:
    """Decompress `source` as a stream and scan what comes out, by content."""
    with source.open() as raw:
        codec = sniff_compressed(raw.read(16)) or "zlib"
    # A top-level file's label is "": name it, so that the content keeps its role (config.json.gz).
    label = inner(source.label or os.path.basename(source.path or ""), f"{codec}-decompressed")
    if not _nested(ctx, label):
        return codec
    limit = _limit(source.size)
    with _spooled(source.label or source.path or codec) as (name, target), source.open() as raw:
        try:
            size = _copy_bounded(_decompressing(codec, raw), target, limit)
        except BombError as exc:
            ctx.flag("container.bomb", f"{codec} stream expands to {exc} from {source.size:,} "
                     f"(limit {RATIO_LIMIT}x, at most {MAX_OUTPUT >> 30} GiB)", source.label)
            return codec
        except (OSError, EOFError, ValueError, RuntimeError, MemoryError) as exc:
            ctx.error(ENGINE, "unreadable-member", f"the {codec} stream cannot be decompressed ({type(exc).__name__}: {exc})",
                      source.label)
            return codec
        target.flush()
        return f"{codec}+{_scan_extracted(name, size, label, ctx)}"


def _bad_name(name: str) -> bool:
    name = name.replace("\\", "/")
    return name.startswith("/") or ".." in name.split("/") or (len(name) > 1 and name[1] == ":")


def _check_names(names: list[str], ctx: ScanContext, label: str, fmt: str) -> None:
    for name, count in Counter(names).items():
        if count > 1:
            ctx.flag(f"{fmt}.duplicate-member", f"member {name!r} appears {count} times", label)
        if _bad_name(name):
            ctx.flag(f"{fmt}.path-traversal", f"member name {name!r} escapes the archive", label)


def scan_tar(source: Source, ctx: ScanContext) -> str:
    """A tar (a .nemo, an unpacked .tar.gz) read as a stream, one member at a time."""
    import tarfile

    if not _nested(ctx, source.label):
        return "tar"
    budget = _limit(source.size)
    names: list[str] = []
    with source.open() as raw:
        try:
            with tarfile.open(fileobj=raw, mode="r|") as archive:
                for member in archive:
                    names.append(member.name)
                    if len(names) > MAX_MEMBERS:
                        ctx.flag("container.bomb", f"more than {MAX_MEMBERS:,} members", source.label)
                        break
                    budget -= member.size
                    if budget < 0:
                        ctx.flag("container.bomb", "members add up to more than the size limit", source.label)
                        break
                    _tar_member(archive, member, source, ctx)
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            ctx.error(ENGINE, "unparseable-archive", f"not a readable tar ({exc})", source.label)
    _check_names(names, ctx, source.label, "tar")
    return "tar"


def _tar_member(archive, member, source: Source, ctx: ScanContext) -> None:
    label = inner(source.label, member.name)
    if member.issym() or member.islnk():
        ctx.flag("tar.link-member", f"a {'symbolic' if member.issym() else 'hard'} link to {member.linkname!r}", label)
        return
    if not member.isfile():
        if not member.isdir():
            ctx.flag("tar.link-member", "a device, FIFO or other special member", label)
        return
    import shutil

    stream = archive.extractfile(member)
    if stream is None:
        ctx.error(ENGINE, "unreadable-member", "the member has no content", label)
        return
    with _spooled(member.name) as (name, target):
        shutil.copyfileobj(stream, target, CHUNK)
        target.flush()
        _scan_extracted(name, member.size, label, ctx)


def scan_7z(source: Source, ctx: ScanContext) -> str:
    """A 7z archive through py7zr: names and declared sizes checked, then members unpacked into a
    temporary folder and judged by content."""
    import tempfile

    import py7zr

    if not _nested(ctx, source.label):
        return "7z"
    with source.open() as raw:
        try:
            with py7zr.SevenZipFile(raw, mode="r") as archive:
                if archive.needs_password():
                    ctx.flag("zip.encrypted-member", "the 7z archive is encrypted: its members cannot be scanned", source.label)
                    return "7z"
                infos = [info for info in archive.list() if not info.is_directory]
                names = [info.filename for info in infos]
                _check_names(names, ctx, source.label, "tar")
                declared = sum(info.uncompressed or 0 for info in infos)
                if declared > _limit(source.size) or len(infos) > MAX_MEMBERS:
                    ctx.flag("container.bomb", f"the 7z archive declares {declared:,} bytes in {len(infos)} members", source.label)
                    return "7z"
                if any(_bad_name(name) for name in names):
                    return "7z"  # not unpacked: already a finding
                with tempfile.TemporaryDirectory(prefix="aisec-7z-") as folder:
                    archive.extractall(path=folder)
                    _scan_folder(folder, names, source, ctx)
        except (py7zr.exceptions.ArchiveError, py7zr.exceptions.Bad7zFile, OSError, EOFError, ValueError,
                KeyError, NotImplementedError) as exc:
            ctx.error(ENGINE, "unparseable-archive", f"not a readable 7z archive ({type(exc).__name__}: {exc})", source.label)
    return "7z"


def _scan_folder(folder: str, names: list[str], source: Source, ctx: ScanContext) -> None:
    for name in names:
        path = os.path.join(folder, name)
        if os.path.islink(path) or not os.path.isfile(path):
            ctx.flag("tar.link-member", "not a regular file once unpacked", inner(source.label, name))
            continue
        _scan_extracted(path, os.path.getsize(path), inner(source.label, name), ctx)


