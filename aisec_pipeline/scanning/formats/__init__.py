"""One module per format behind `scan(source, ctx) -> format name`; dispatch is by content."""

from __future__ import annotations

import os
from pathlib import Path

from ..context import ScanContext, Source
from ..sniff import SNIFF_BYTES, sniff
from .base import ENGINE, FormatScanner


# Format name -> (module, function); a module is imported only when its format is met.
SCANNERS = {
    "zip": ("zip_file", "scan"),
    "npy": ("npy_file", "scan"),
    "hdf5": ("hdf5_file", "scan"),
    "gguf": ("gguf_file", "scan"),
    "safetensors": ("safetensors_file", "scan"),
    "pickle": ("pickle_file", "scan"),
    "savedmodel": ("savedmodel", "scan"),
    "keras-metadata": ("savedmodel", "scan_keras_metadata"),
    "compressed": ("containers", "scan_compressed"),
    "tar": ("containers", "scan_tar"),
    "7z": ("containers", "scan_7z"),
    "onnx": ("onnx_file", "scan"),
}


def _scanner(kind: str) -> FormatScanner | None:
    if kind not in SCANNERS:
        return None
    import importlib

    module, function = SCANNERS[kind]
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


# SavedModel files TensorFlow reads as raw tensor bytes or a table, whatever they start with.
RAW_COMPANIONS = frozenset({"savedmodel-variables", "savedmodel-index"})


def _savedmodel_role(source: Source) -> str | None:
    if source.path is None:
        return None
    from . import savedmodel

    return savedmodel.companion_kind(Path(os.path.abspath(source.path)))


# Common non-model contents, named so that the reason says what the file is.
NON_MODEL_MAGICS = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"%PDF": "a PDF document",
    b"\x7fELF": "an ELF executable", b"MZ": "a Windows executable",
}


# Roles of files model repositories ship that the scanner does not read, named in the refusal.
UNREAD_ROLES = {".msgpack": "Flax weights (msgpack)", ".tflite": "a TensorFlow Lite model", ".ot": "rust-bert weights",
                ".mlmodel": "a Core ML model", ".engine": "a TensorRT engine (native code)", ".so": "a shared library",
                ".dll": "a Windows library", ".dylib": "a macOS library", ".pb": "a protobuf the scanner does not know"}


def _what_it_is(head: bytes, source: Source) -> str:
    from .repository import name_of

    for magic, what in NON_MODEL_MAGICS.items():
        if head.startswith(magic):
            return f"it is {what}"
    what = f"starts with {head[:8].hex()}" if head else "it is empty"
    name = name_of(source)
    role = next((role for suffix, role in UNREAD_ROLES.items() if name.lower().endswith(suffix)), None)
    return f"{what}; by its name {name!r} it would be {role}, which the scanner does not read" if role else what


def read_head(source: Source, count: int = SNIFF_BYTES) -> bytes:
    with source.open() as stream:
        return stream.read(count)


def scan_source(source: Source, ctx: ScanContext) -> str:
    """Sniff `source` and run its format scanner; an unknown format is an error finding."""
    head = read_head(source)
    kind = sniff(head)
    scanner = _scanner(kind)
    companion = _savedmodel_role(source)
    if companion is not None and (scanner is None or companion in RAW_COMPANIONS):
        from . import savedmodel

        with ctx.guard(ENGINE, source.label):
            return savedmodel.scan_companion(companion, source, ctx)
        return companion
    if scanner is None and kind == "unknown":
        from .repository import is_sentencepiece, is_text, scan_sentencepiece, scan_text

        if is_text(head):
            with ctx.guard(ENGINE, source.label):
                return scan_text(source, ctx)
            return "text"
        if is_sentencepiece(source, head):
            return scan_sentencepiece(source, ctx)
    if scanner is None and source.path is not None and not source.label:
        from .onnx_file import external_data_role

        role = external_data_role(source.path)
        if role is not None:
            ctx.flag("onnx.external-data", "tensor bytes an ONNX model in this folder stores outside its protobuf", source.label)
            return role
    if scanner is None:
        ctx.error(ENGINE, "unknown-format",
                  f"content matches no supported model format: {_what_it_is(head, source)}", source.label)
        return "unknown"
    with ctx.guard(ENGINE, source.label):
        return scanner(source, ctx)
    return kind
