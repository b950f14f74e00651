"""ONNX models, parsed as protobuf with the `onnx` package's message classes (never run: no
onnxruntime, no checker that loads external data).

The graph is walked with every nested graph (If/Loop/Scan bodies, local functions):
- tensors stored as external data must name a file inside the model's folder (a relative path
  without `..` that resolves, through symlinks, under the folder) that exists;
- operators from a domain that is neither standard ONNX nor onnxruntime's built-in contrib
  domain need a custom operator library (native code) registered to run: a finding;
- a node whose domain names a model-local function is that function (its body is walked).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import Any

from ..context import ScanContext, Source, inner
from .base import ENGINE

MAX_ONNX = 2 << 30  # protobuf's own limit for one message
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training",
                              "com.microsoft", "com.microsoft.nchwc", "com.ms.internal.nhwc"})
MODEL_FIELDS = (0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72)  # producer, ..., graph, opset_import, metadata


def sniff_onnx(head: bytes) -> bool:
    """ModelProto starts with ir_version (field 1, varint 3-15), then another known field."""
    return len(head) > 3 and head[0] == 0x08 and 3 <= head[1] <= 15 and head[2] in MODEL_FIELDS


def scan(source: Source, ctx: ScanContext) -> str:
    from google.protobuf.message import DecodeError
    from onnx import ModelProto

    if source.size > MAX_ONNX:
        ctx.error(ENGINE, "unparseable-onnx", f"{source.size:,} bytes is over protobuf's 2 GiB message limit", source.label)
        return "onnx"
    with source.open() as stream:
        data = stream.read(MAX_ONNX + 1)
    model = ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        ctx.error(ENGINE, "unparseable-onnx", f"not an ONNX model ({exc})", source.label)
        return "onnx"
    del data
    local = {(f.domain, f.name) for f in model.functions}
    folder = os.path.dirname(os.path.abspath(source.path)) if source.path and not source.label else None
    for where, graph in _graphs(model):
        _check_graph(graph, where, local, folder, ctx, source.label)
    for opset in model.opset_import:
        if opset.domain not in STANDARD_DOMAINS and not any(domain == opset.domain for domain, _ in local):
            ctx.flag("onnx.custom-domain", f"opset_import names the custom domain {opset.domain!r} (version "
                     f"{opset.version}): it runs only with a custom operator library", source.label)
    return "onnx"


def _graphs(model: Any) -> Iterator[tuple[str, Any]]:
    """(location, graph or function) for the main graph, local functions and every nested graph."""
    stack: list[tuple[str, Any]] = [("graph", model.graph)]
    stack += [(f"function {f.domain}.{f.name}", f) for f in model.functions]
    while stack:
        where, graph = stack.pop()
        yield where, graph
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    stack.append((f"{where} > {node.op_type} {node.name!r}.{attribute.name}", attribute.g))
                stack += [(f"{where} > {node.op_type} {node.name!r}.{attribute.name}[{i}]", g)
                          for i, g in enumerate(attribute.graphs)]


def _tensors(graph: Any) -> Iterator[Any]:
    yield from getattr(graph, "initializer", ())
    for sparse in getattr(graph, "sparse_initializer", ()):
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors


def _check_graph(graph: Any, where: str, local: set[tuple[str, str]], folder: str | None, ctx: ScanContext,
                 label: str) -> None:
    from onnx import TensorProto

    for node in graph.node:
        if node.domain not in STANDARD_DOMAINS and (node.domain, node.op_type) not in local:
            ctx.flag("onnx.custom-domain", f"{where}: node {node.name!r} uses {node.domain}.{node.op_type}, "
                     "a custom operator (native code loaded from a library)", label)
    for tensor in _tensors(graph):
        if tensor.data_location == TensorProto.EXTERNAL:
            entries = {entry.key: entry.value for entry in tensor.external_data}
            _check_external(entries.get("location", ""), f"{where}: tensor {tensor.name!r}", folder, ctx, label)


def _check_external(location: str, what: str, folder: str | None, ctx: ScanContext, label: str) -> None:
    normal = location.replace("\\", "/")
    if not normal or normal.startswith("/") or ".." in normal.split("/") or (len(normal) > 1 and normal[1] == ":"):
        ctx.flag("onnx.external-data-outside", f"{what} reads external data from {location!r}, outside the model's folder", label)
        return
    if folder is None:
        ctx.error(ENGINE, "unparseable-onnx", f"{what} reads external data {location!r}, which cannot be checked inside an archive",
                  inner(label, location))
        return
    target = os.path.realpath(os.path.join(folder, normal))
    if os.path.commonpath([target, os.path.realpath(folder)]) != os.path.realpath(folder):
        ctx.flag("onnx.external-data-outside", f"{what} reads {location!r}, which resolves outside the folder (a symlink)", label)
    elif not os.path.isfile(target):
        ctx.error(ENGINE, "unparseable-onnx", f"{what} reads external data {location!r}, which is missing", label)


def external_data_role(path: str) -> str | None:
    """"onnx-external-data" when an ONNX model in the same folder stores tensors in this file."""
    folder, name = os.path.split(os.path.abspath(path))
    try:
        siblings = tuple(sorted((entry.name, entry.stat().st_mtime_ns, entry.stat().st_size)
                                for entry in os.scandir(folder) if entry.is_file(follow_symlinks=False)))
    except OSError:
        return None
    return "onnx-external-data" if name in _external_locations(folder, siblings) else None


@functools.lru_cache(maxsize=8)
def _external_locations(folder: str, siblings: tuple[tuple[str, int, int], ...]) -> frozenset[str]:
    """Every external-data file named by the folder's ONNX models (parsed once per folder state)."""
    from google.protobuf.message import DecodeError
    from onnx import ModelProto, TensorProto

    found: set[str] = set()
    for name, _mtime, size in siblings:
        path = os.path.join(folder, name)
        if size > MAX_ONNX:
            continue
        with open(path, "rb") as stream:
            if not sniff_onnx(stream.read(16)):
                continue
            stream.seek(0)
            model = ModelProto()
            try:
                model.ParseFromString(stream.read())
            except (DecodeError, RuntimeError, ValueError):
                continue
        for _where, graph in _graphs(model):
            for tensor in _tensors(graph):
                if tensor.data_location == TensorProto.EXTERNAL:
                    found.update(e.value.replace("\\", "/") for e in tensor.external_data if e.key == "location")
    return frozenset(found)
