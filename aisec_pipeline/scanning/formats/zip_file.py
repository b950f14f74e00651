"""Zip archives: torch zip checkpoints, numpy .npz, Keras .keras, skops, or anything else zipped.

Structure is checked for every archive (duplicate names, path traversal, encryption flag, CRC by
streaming decompression, nesting), then each member is scanned by content under the archive's
flavour: which members a loader would unpickle, and which are raw data by design.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections import Counter
from dataclasses import replace

from ..context import MAX_ARCHIVE_DEPTH, ScanContext, Source, inner
from ..sniff import sniff
from . import skops_file
from .base import ENGINE

CRC_CHUNK = 8 << 20
TORCH_SMALL_RECORDS = {"version", ".format_version", ".storage_alignment", "byteorder",
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
            for info in infos:
                if not info.is_dir():
                    _scan_member(archive, info, flavour, source, ctx)
    return flavour


def _flavour(names: list[str]) -> str:
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
            ctx.add(ENGINE, "high", "zip.duplicate-member", f"member {name!r} appears {count} times", label)
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or (len(name) > 1 and name[1] == ":"):
            ctx.add(ENGINE, "high", "zip.path-traversal", f"member name {info.filename!r} escapes the archive", label)
        if info.flag_bits & 0x1:
            ctx.add(ENGINE, "high", "zip.encrypted-member", f"member {info.filename!r} is flagged encrypted", label)


def _scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, flavour: str, parent: Source, ctx: ScanContext) -> None:
    label = inner(parent.label, info.filename)
    if info.flag_bits & 0x1 or not _readable_after_crc_check(archive, info, ctx, label):
        return  # unreadable: already a finding
    member = Source(label, lambda: _open_unchecked(archive, info), info.file_size)
    with member.open() as stream:
        head = stream.read(4096)
    kind = sniff(head)
    if kind == "zip":
        _scan_nested(member, ctx)
    elif kind == "pickle" and _is_torch_storage(info.filename, flavour) and not _parses_fully(member):
        return  # raw tensor bytes that merely start like a pickle
    elif kind == "pickle":
        if not (flavour == "torch-zip" and posixpath.basename(info.filename) == "data.pkl"):
            ctx.add(ENGINE, "high", "zip.unexpected-pickle", "pickle member outside the expected data.pkl", label)
        _dispatch(member, ctx)
    elif flavour == "torch-zip" and (_is_torch_storage(info.filename, flavour) or _torch_record(info.filename)):
        return
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


def _dispatch(member: Source, ctx: ScanContext) -> None:
    from . import scan_source

    scan_source(member, ctx)


def _scan_nested(member: Source, ctx: ScanContext) -> None:
    if ctx.depth + 1 >= MAX_ARCHIVE_DEPTH:
        ctx.add(ENGINE, "high", "zip.nesting-too-deep", f"archives nested deeper than {MAX_ARCHIVE_DEPTH}", member.label)
        return
    ctx.add(ENGINE, "medium", "zip.nested-archive", "archive inside an archive (scanned)", member.label)
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


def _readable_after_crc_check(archive: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: ScanContext, label: str) -> bool:
    """Decompress the member in chunks without keeping it; zipfile checks the CRC at the end."""
    try:
        with archive.open(info) as stream:
            while stream.read(CRC_CHUNK):
                pass
    except zipfile.BadZipFile as exc:
        if "CRC" not in str(exc):
            ctx.add(ENGINE, "high", "zip.bad-header", str(exc), label)
            return False
        ctx.add(ENGINE, "high", "zip.bad-crc", str(exc), label)
    except (NotImplementedError, RuntimeError, OSError, ValueError, EOFError) as exc:
        ctx.error(ENGINE, "unreadable-member", str(exc), label)
        return False
    return True


def _is_torch_storage(name: str, flavour: str) -> bool:
    return flavour == "torch-zip" and posixpath.basename(posixpath.dirname(name)) == "data"


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
