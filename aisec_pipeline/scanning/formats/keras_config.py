"""Keras model configs (from .h5 `model_config` or .keras `config.json`), walked to any depth:
nested models, wrapper layers and functional graphs are all plain JSON underneath."""

from __future__ import annotations

import json
from typing import Any

from ..context import ScanContext
from .base import ENGINE, nested_dicts

KERAS_MODULES = ("keras", "tf_keras", "tensorflow")


def check_config_text(text: str | bytes, ctx: ScanContext, label: str) -> None:
    try:
        config = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        ctx.error(ENGINE, "unparseable-config", f"Keras config is not JSON ({exc})", label)
        return
    check_config(config, ctx, label)


def check_config(config: Any, ctx: ScanContext, label: str) -> None:
    for where, node in nested_dicts(config, "$"):
        class_name = node.get("class_name")
        config_of = node.get("config") if isinstance(node.get("config"), dict) else {}
        if class_name in ("Lambda", "__lambda__") or config_of.get("function_type") == "lambda":
            name = config_of.get("name", "")
            ctx.flag("keras.lambda-layer", f"Lambda layer {name!r} carries Python code at {where}", label)
        module = node.get("module")
        if isinstance(module, str) and isinstance(class_name, str) and not module.startswith(KERAS_MODULES):
            _custom(f"{module}.{class_name}", where, ctx, label)
        registered = node.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            _custom(registered, where, ctx, label)


def _custom(qualified: str, where: str, ctx: ScanContext, label: str) -> None:
    if qualified in ctx.trusted_types:
        ctx.trusted_types_used.add(qualified)
        return
    ctx.flag("keras.custom-object", f"{qualified} at {where} needs custom code to load", label)

