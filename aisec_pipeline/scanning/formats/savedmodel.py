"""TensorFlow SavedModel folders, read as protobuf without TensorFlow.

`saved_model.pb`: every op the graphs and their function library use (NodeDef.op, and the
stripped op list) is checked against ops that read or write files or run Python; Keras layer
metadata stored in the object graph is checked like any Keras config. `keras_metadata.pb`: each
layer's JSON metadata is checked for Lambda layers and custom objects. The other files of the
folder (variables data and index, fingerprint, assets) are raw tensors, a table or text that no
loader executes: they are recognised by their place next to a parsed saved_model.pb.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..context import ScanContext, Source
from ..protobuf import WireError, check_wellformed, sniff_protobuf, strings, walk
from .keras_config import check_config

MAX_PROTOBUF = 2 << 30  # protobuf's own message limit
# Ops that touch the file system or run arbitrary Python when the graph executes.
DANGEROUS_OPS = {
    "ReadFile": "reads a file (tf.io.read_file)",
    "WriteFile": "writes a file (tf.io.write_file)",
    "MatchingFiles": "lists files (tf.io.matching_files)",
    "WholeFileReader": "reads whole files",
    "WholeFileReaderV2": "reads whole files",
    "PyFunc": "runs Python code (tf.py_function / numpy_function)",
    "PyFuncStateless": "runs Python code (tf.numpy_function)",
    "EagerPyFunc": "runs Python code (tf.py_function)",
    "ImmutableConst": "memory-maps a file from disk",
}
# SavedModel.meta_graphs(2) -> MetaGraphDef
_GRAPH_NODES = (2, 2, 1)            # .graph_def(2).node(1)
_FUNCTION_NODES = (2, 2, 2, 1, 3)   # .graph_def(2).library(2).function(1).node_def(3)
_STRIPPED_OPS = (2, 1, 2, 1)        # .meta_info_def(1).stripped_op_list(2).op(1)
_USER_OBJECTS = (2, 7, 1, 4)        # .object_graph_def(7).nodes(1).user_object(4)
_KERAS_NODES = (1,)                 # SavedMetadata.nodes(1) -> SavedObject, metadata = 5
MAX_COMPANION_DEPTH = 6  # folders between a companion file and its saved_model.pb
VARIABLES_INDEX_MAGIC = bytes.fromhex("57fb808b247547db")  # LevelDB table footer


def scan(source: Source, ctx: ScanContext) -> str:
    data = _read(source, ctx)
    if data is None:
        return "savedmodel"
    try:
        _check_ops(data, ctx, source.label)
        for user_object in walk(data, _USER_OBJECTS):
            for metadata in strings(user_object, 3):
                _check_layer_metadata(metadata, ctx, source.label)
    except WireError as exc:
        ctx.flag("error.unparseable-protobuf", f"saved_model.pb is not a well-formed SavedModel ({exc})", source.label)
    return "savedmodel"


def scan_keras_metadata(source: Source, ctx: ScanContext) -> str:
    data = _read(source, ctx)
    if data is None:
        return "keras-metadata"
    try:
        for node in walk(data, _KERAS_NODES):
            for metadata in strings(node, 5):
                _check_layer_metadata(metadata, ctx, source.label)
    except WireError as exc:
        ctx.flag("error.unparseable-protobuf", f"keras_metadata.pb is not well formed ({exc})", source.label)
    return "keras-metadata"


def _read(source: Source, ctx: ScanContext) -> bytes | None:
    if source.size > MAX_PROTOBUF:
        ctx.flag("error.unparseable-protobuf", f"{source.size} bytes exceed protobuf's 2 GiB limit", source.label)
        return None
    with source.open() as stream:
        return stream.read()


def _check_ops(data: bytes, ctx: ScanContext, label: str) -> None:
    used: set[str] = set()
    for path in (_GRAPH_NODES, _FUNCTION_NODES):
        for node in walk(data, path):
            used.update(strings(node, 2))
    for op_def in walk(data, _STRIPPED_OPS):
        used.update(strings(op_def, 1))
    for op in sorted(used & DANGEROUS_OPS.keys()):
        ctx.flag("savedmodel.dangerous-op", f"the graph uses {op}, which {DANGEROUS_OPS[op]}", label)


def _check_layer_metadata(text: str, ctx: ScanContext, label: str) -> None:
    if not text.strip():
        return
    try:
        metadata = json.loads(text)
    except ValueError as exc:
        ctx.flag("error.unparseable-config", f"Keras layer metadata is not JSON ({exc})", label)
        return
    check_config(metadata, ctx, label)


def companion_kind(path: Path) -> str | None:
    """The role of a file inside a SavedModel folder whose saved_model.pb parses, else None."""
    for root in list(path.parents)[:MAX_COMPANION_DEPTH]:
        if _is_saved_model(root / "saved_model.pb"):
            return _role(path.relative_to(root).as_posix())
    return None


def _role(relative: str) -> str | None:
    if relative.startswith("variables/variables.data-"):
        return "savedmodel-variables"
    if relative == "variables/variables.index":
        return "savedmodel-index"
    if relative == "fingerprint.pb":
        return "savedmodel-fingerprint"
    if relative.startswith("assets/") or relative.startswith("assets.extra/"):
        return "savedmodel-asset"
    return None


def _is_saved_model(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            return sniff_protobuf(stream.read(64)) == "savedmodel"
    except OSError:
        return False


def scan_companion(kind: str, source: Source, ctx: ScanContext) -> str:
    """Check what can be checked of a companion file: the index's footer, the fingerprint's wire
    format. Variables data is raw tensor bytes that TensorFlow copies, never executes."""
    if kind == "savedmodel-index":
        with source.open() as stream:
            stream.seek(max(0, source.size - 8))
            if stream.read(8) != VARIABLES_INDEX_MAGIC:
                ctx.flag("error.unparseable-index", "variables.index does not end with the table magic", source.label)
    elif kind == "savedmodel-fingerprint":
        with source.open() as stream:
            data = stream.read(1 << 20)
        try:
            check_wellformed(data)
        except WireError as exc:
            ctx.flag("error.unparseable-protobuf", f"fingerprint.pb is not well formed ({exc})", source.label)
    return kind
