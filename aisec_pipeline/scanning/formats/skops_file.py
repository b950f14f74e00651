"""skops (.skops): a zip holding `schema.json`, a tree of nodes that each name the class skops
would build (`__module__`, `__class__`, `__loader__`), and .npy members with the arrays.

The schema is walked as plain JSON. skops.io is never imported: its loaders build objects, and
even its audit (`get_untrusted_types`) reads array members with numpy and imports all of
scikit-learn to list its default-trusted estimators. The archive's other members are scanned by
content like any zip member (.npy by the npy module, pickles as pickles).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from typing import Any

from ..context import ScanContext
from ..pickle_policy import rule_global

SCHEMA_NAME = "schema.json"
MAX_SCHEMA = 100 * 1024 * 1024
NODE_KEYS = ("__class__", "__module__", "__loader__")
# skops' own defaults for the nodes it builds without estimator code (primitives, containers,
# arrays, numpy scalar types, RandomState), as listed in skops 0.16 `_trusted_types`. skops
# also trusts every scikit-learn estimator by default; aisec does not: as for pickles, the
# registry entry names the estimator classes it expects in `trusted_types`.
SKOPS_DEFAULT_TRUSTED = frozenset(
    [f"builtins.{name}" for name in (
        "int", "float", "str", "bool", "list", "set", "map", "tuple", "dict", "slice", "bytes", "bytearray")]
    + [f"numpy.{name}" for name in (
        "ndarray", "bool", "bytes_", "clongdouble", "complex128", "complex64", "datetime64", "float16",
        "float32", "float64", "int16", "int32", "int64", "int8", "longdouble", "longlong", "object_",
        "str_", "timedelta64", "uint16", "uint32", "uint64", "uint8", "ulonglong", "void")]
    + ["collections.OrderedDict", "numpy.random.mtrand.RandomState"]
)


def read_schema(archive: zipfile.ZipFile, names: list[str]) -> dict[str, Any] | None:
    """The parsed schema when the archive is a skops file, else None."""
    if SCHEMA_NAME not in names:
        return None
    info = archive.getinfo(SCHEMA_NAME)
    if info.file_size > MAX_SCHEMA or info.flag_bits & 0x1:
        return None
    try:
        schema = json.loads(archive.read(info))
    except (ValueError, UnicodeDecodeError, RecursionError, zipfile.BadZipFile, OSError, EOFError):
        return None  # the member is then scanned by content, which reports it
    return schema if is_skops_schema(schema) else None


def is_skops_schema(schema: Any) -> bool:
    return (isinstance(schema, dict) and all(isinstance(schema.get(key), str) for key in NODE_KEYS)
            and type(schema.get("protocol")) is int)


def check_schema(schema: dict[str, Any], ctx: ScanContext, where: str) -> None:
    """One finding per type the schema names outside skops' defaults and the trusted types."""
    seen: set[str] = set()
    for path, node in _nodes(schema):
        module, name = node.get("__module__"), node.get("__class__")
        if not isinstance(module, str) or not isinstance(name, str):
            ctx.flag("skops.malformed-type", f"node at {path} does not name a class", where)
            continue
        if node.get("__loader__") == "MethodNode":
            name = f"{name}.{_method_name(node)}"  # skops rebuilds the object, then getattr()s this
        qualified = f"{module}.{name}"
        if qualified not in seen:
            seen.add(qualified)
            _rule(module, name, ctx, where, path)


def _rule(module: str, name: str, ctx: ScanContext, where: str, path: str) -> None:
    ruling = rule_global(module, name, ctx.trusted_types, allowlist=SKOPS_DEFAULT_TRUSTED)
    qualified = f"{module}.{name}"
    if ruling is not None:
        ctx.flag(ruling.rule("skops", "type"), f"{ruling.reason('type')} (at {path})", where)
    elif qualified not in SKOPS_DEFAULT_TRUSTED:
        ctx.trusted_types_used.add(qualified)


def _method_name(node: dict[str, Any]) -> str:
    content = node.get("content")
    func = content.get("func") if isinstance(content, dict) else None
    return func if isinstance(func, str) else "<missing method name>"


def _nodes(schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict that carries any node key, with its JSON path (iterative: no recursion limit)."""
    stack = [("$", schema)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            if any(key in value for key in NODE_KEYS):
                yield path, value
            stack.extend((f"{path}.{key}", child) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", child) for index, child in reversed(list(enumerate(value))))
