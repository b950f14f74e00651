"""Zip archives: torch zip checkpoints, numpy .npz, Keras .keras, skops, or anything else zipped.

Structure is checked for every archive (duplicate names, path traversal, encryption flag, CRC by
streaming decompression, nesting), then each member is scanned by content under the archive's
flavour: which members a loader would unpickle, and which are raw data by design.
"""

from __future__ import annotations

import copy
import io
import posixpath
import struct
import zipfile
import zlib
from collections import Counter
from dataclasses import replace

from ..context import MAX_ARCHIVE_DEPTH, ScanContext, Source, inner
from ..sniff import sniff
from . import skops_file
from .base import ENGINE

CRC_CHUNK = 8 << 20
MAX_RAW_MEMBER = 256 << 20  # members read by their local header are held in memory
# Flag bits a member may carry without changing how its bytes are read by a lenient loader:
# 0x1 encrypted, 0x20 compressed patched data, 0x40 strong encryption. zipfile refuses them; the
# content is still read (with the bits cleared) so a payload cannot hide behind a flag.
READ_BLOCKING_FLAGS = 0x1 | 0x20 | 0x40
UNUSUAL_FLAGS = 0x20 | 0x40
TORCH_FLAVOURS = ("torch-zip", "torchscript", "pt2")
PT2_RAW_FOLDERS = ("data/weights/", "data/constants/")
TORCHSCRIPT_PICKLES = {"data.pkl", "constants.pkl", "traced_inputs.pkl"}
TORCH_SMALL_RECORDS = {"extra/producer_info.json", "archive_format", "archive_version", "version", ".format_version", ".storage_alignment", "byteorder",
                       ".data/serialization_id", ".data/version"}


def scan(source: Source, ctx: ScanContext) -> str:
    with source.open() as raw:
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            ctx.error(ENGINE, "unparseable-archive", f"not a readable zip ({exc})", source.label)
            return "zip"
        with archive:
            infos = archive.infolist()
            _check_structure(infos, ctx, source.label)
            names = [info.filename for info in infos]
            flavour = _flavour(names)
            schema = skops_file.read_schema(archive, names) if flavour == "zip" else None
            if schema is not None:
                flavour = "skops"
                skops_file.check_schema(schema, ctx, inner(source.label, skops_file.SCHEMA_NAME))
            outer, ctx.torchscript = ctx.torchscript, flavour == "torchscript"
            try:
                for info in infos:
                    if not info.is_dir():
                        _scan_member(archive, info, flavour, source, ctx)
            finally:
                ctx.torchscript = outer
    return flavour


def _flavour(names: list[str]) -> str:
    if _is_torchscript(names):
        return "torchscript"
    if any(posixpath.basename(name) == "archive_format" for name in names):
        return "pt2"  # torch.export.save: JSON graph, raw weights, a nested torch zip of sample inputs
    if any(posixpath.basename(name) == "data.pkl" for name in names):
        return "torch-zip"
    if "config.json" in names and any(name.endswith(".h5") or name == "metadata.json" for name in names):
        return "keras"
    if names and all(name.endswith(".npy") for name in names):
        return "npz"
    return "zip"


def _check_structure(infos: list[zipfile.ZipInfo], ctx: ScanContext, label: str) -> None:
    for name, count in Counter(info.filename for info in infos).items():
        if count > 1:
            ctx.flag("zip.duplicate-member", f"member {name!r} appears {count} times", label)
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or (len(name) > 1 and name[1] == ":"):
            ctx.flag("zip.path-traversal", f"member name {info.filename!r} escapes the archive", label)
        if info.flag_bits & 0x1:
            ctx.flag("zip.encrypted-member", f"member {info.filename!r} is flagged encrypted", label)
        if info.flag_bits & UNUSUAL_FLAGS:
            ctx.flag("zip.unusual-flags", f"member {info.filename!r} carries flag bits {info.flag_bits & UNUSUAL_FLAGS:#x} "
                     "(its content is scanned as if they were clear)", label)


def _scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, flavour: str, parent: Source, ctx: ScanContext) -> None:
    label = inner(parent.label, info.filename)
    info = _without_read_blocking_flags(info)
    readable = _readable_after_crc_check(archive, info, ctx, label)
    if readable is None:
        return  # unreadable: already a finding
    opener = _open_unchecked if readable else _open_by_local_header
    member = Source(label, lambda: opener(archive, info), info.file_size)
    with member.open() as stream:
        head = stream.read(4096)
    kind = sniff(head)
    if kind == "zip":
        _scan_nested(member, ctx)
    elif kind == "pickle" and _is_torch_storage(info.filename, flavour) and not _parses_fully(member):
        return  # raw tensor bytes that merely start like a pickle
    elif kind == "pickle":
        if flavour != "zip" and not _expected_pickle(info.filename, flavour):
            ctx.flag("zip.unexpected-pickle", "pickle member outside the expected data.pkl", label)
        _dispatch(member, ctx)
    elif flavour in TORCH_FLAVOURS and (_is_torch_storage(info.filename, flavour) or _torch_record(info.filename)):
        return
    elif flavour == "torchscript" and _torchscript_code(info.filename):
        from .torchscript import check_code

        with member.open() as stream:
            check_code(stream.read(MAX_RAW_MEMBER), ctx, label)
    elif flavour == "keras" and info.filename == "config.json":
        from .keras_config import check_config_text

        with archive.open(info) as stream:
            check_config_text(stream.read(), ctx, label)
    elif flavour == "keras" and (info.filename == "metadata.json" or info.filename.startswith("assets/")):
        return
    elif flavour == "skops" and info.filename == skops_file.SCHEMA_NAME:
        return  # walked before the members
    else:
        _dispatch(member, ctx)


def _without_read_blocking_flags(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    if not info.flag_bits & READ_BLOCKING_FLAGS:
        return info
    clear = copy.copy(info)
    clear.flag_bits &= ~READ_BLOCKING_FLAGS
    return clear


def _dispatch(member: Source, ctx: ScanContext) -> None:
    from . import scan_source

    scan_source(member, ctx)


def _scan_nested(member: Source, ctx: ScanContext) -> None:
    if ctx.depth + 1 >= MAX_ARCHIVE_DEPTH:
        ctx.flag("zip.nesting-too-deep", f"archives nested deeper than {MAX_ARCHIVE_DEPTH}", member.label)
        return
    ctx.flag("zip.nested-archive", "archive inside an archive (scanned)", member.label)
    ctx.depth += 1
    try:
        _dispatch(replace(member), ctx)
    finally:
        ctx.depth -= 1


def _open_unchecked(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> zipfile.ZipExtFile:
    """A member stream without the CRC check: loaders such as torch's read bad-CRC members anyway,
    so their content is scanned even after the CRC finding."""
    stream = archive.open(info)
    stream._expected_crc = None  # type: ignore[attr-defined]
    return stream


def _readable_after_crc_check(archive: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: ScanContext, label: str) -> bool | None:
    """Decompress the member in chunks without keeping it; zipfile checks the CRC at the end.
    True: zipfile reads it; False: only by its local header (names differ); None: unreadable."""
    try:
        with archive.open(info) as stream:
            while stream.read(CRC_CHUNK):
                pass
    except zipfile.BadZipFile as exc:
        if "CRC" not in str(exc):
            ctx.flag("zip.bad-header", str(exc), label)
            return _readable_by_local_header(archive, info, ctx, label)
        ctx.flag("zip.bad-crc", str(exc), label)
    except (NotImplementedError, RuntimeError, OSError, ValueError, EOFError, zlib.error) as exc:
        ctx.error(ENGINE, "unreadable-member", str(exc), label)
        return None
    return True


def _readable_by_local_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: ScanContext, label: str) -> bool | None:
    if info.compress_size > MAX_RAW_MEMBER:
        ctx.error(ENGINE, "unreadable-member", f"{info.compress_size} bytes are too many to read by the local header", label)
        return None
    try:
        _open_by_local_header(archive, info).close()
    except (zipfile.BadZipFile, NotImplementedError, OSError, zlib.error) as exc:
        ctx.error(ENGINE, "unreadable-member", f"not readable by its local header either ({exc})", label)
        return None
    return False


def _open_by_local_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> io.BytesIO:
    """The member's bytes found the way lenient loaders find them (central directory offset,
    then the local header's lengths), whatever name the local header gives."""
    raw = archive.fp
    assert raw is not None
    raw.seek(info.header_offset)
    header = raw.read(30)
    if header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("no local header at the member's offset")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    raw.seek(info.header_offset + 30 + name_length + extra_length)
    data = raw.read(info.compress_size)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        data = zlib.decompressobj(-15).decompress(data, MAX_RAW_MEMBER)
    elif info.compress_type != zipfile.ZIP_STORED:
        raise NotImplementedError(f"compression method {info.compress_type}")
    return io.BytesIO(data)


def _is_torchscript(names: list[str]) -> bool:
    return any(posixpath.basename(name) == "constants.pkl" for name in names) and any(
        _torchscript_code(name) for name in names)


def _torchscript_code(name: str) -> bool:
    parts = name.split("/")
    return len(parts) >= 3 and parts[1] == "code" and name.endswith(".py")


def _expected_pickle(name: str, flavour: str) -> bool:
    """The pickles torch.load (data.pkl) or torch.jit.load (also constants, debug info, traced
    inputs) read."""
    base = posixpath.basename(name)
    if flavour == "torch-zip":
        return base == "data.pkl"
    return flavour == "torchscript" and (base in TORCHSCRIPT_PICKLES or name.endswith(".debug_pkl"))


def _is_torch_storage(name: str, flavour: str) -> bool:
    folder = posixpath.basename(posixpath.dirname(name))
    if flavour == "pt2":  # raw tensor bytes, described by the JSON configs beside them
        return not name.endswith(".json") and any(f"/{raw}" in f"/{name}" for raw in PT2_RAW_FOLDERS)
    return flavour in TORCH_FLAVOURS and (folder == "data" or (flavour == "torchscript" and folder == "traced_inputs"))


def _torch_record(name: str) -> bool:
    _, _, rest = name.partition("/")
    return rest in TORCH_SMALL_RECORDS


def _parses_fully(member: Source) -> bool:
    import pickletools

    from ..streams import SkippingReader

    with member.open() as raw:
        try:
            for _ in pickletools.genops(SkippingReader(raw)):
                pass
        except ValueError:
            return False
    return True
