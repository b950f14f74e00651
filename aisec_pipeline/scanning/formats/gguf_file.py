"""GGUF: metadata is read with gguf.GGUFReader; chat templates are parsed (never rendered) and
their Jinja AST is searched for sandbox-escape constructs."""

from __future__ import annotations

from typing import Any

from ..context import ScanContext, Source, inner
from .base import ENGINE

TEMPLATE_KEY = "tokenizer.chat_template"
# Names that only template-injection payloads reach for (Flask/Jinja globals, OS access).
SUSPICIOUS_NAMES = frozenset({
    "lipsum", "cycler", "joiner", "config", "request", "self", "os", "popen", "url_for",
    "get_flashed_messages", "__builtins__",
})
# Jinja parses about 4 us per character: a template over this cap is refused unparsed (it blocks),
# so no chat template keeps the scan busy for more than a fraction of a second. Real chat
# templates are a few KB.
MAX_TEMPLATE_CHARS = 64 * 1024
SUSPICIOUS_ATTRS = frozenset({"popen", "system", "mro", "func_globals", "gi_frame", "f_globals", "f_back", "tb_frame"})


def scan(source: Source, ctx: ScanContext) -> str:
    if source.path is None:
        ctx.error(ENGINE, "unsupported-nesting", "GGUF inside an archive is not scanned", source.label)
        return "gguf"
    from gguf import GGUFReader, GGUFValueType

    reader = GGUFReader(source.path)
    for key, field in reader.fields.items():
        if key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + "."):
            if field.types[:1] != [GGUFValueType.STRING]:
                ctx.error(ENGINE, "unparseable-template", f"{key} is not a string", source.label)
                continue
            text = bytes(field.parts[field.data[0]]).decode("utf-8", errors="replace")
            check_template(text, ctx, inner(source.label, key))
    return "gguf"


def check_template(text: str, ctx: ScanContext, label: str, rule: str = "gguf.template-injection") -> None:
    """Parse (never render) a chat template; flag constructs only sandbox escapes use as `rule`."""
    from jinja2 import TemplateSyntaxError, nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    if len(text) > MAX_TEMPLATE_CHARS:
        ctx.error(ENGINE, "unparseable-template", f"a {len(text):,}-character template, over the "
                  f"{MAX_TEMPLATE_CHARS:,}-character limit: not parsed", label)
        return
    try:
        tree = ImmutableSandboxedEnvironment().parse(text)
        found = list(tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Const, nodes.Filter)))
    except TemplateSyntaxError as exc:
        ctx.error(ENGINE, "unparseable-template", f"Jinja cannot parse the template ({exc})", label)
        return
    except RecursionError:
        ctx.error(ENGINE, "unparseable-template", "the template is nested too deeply to parse", label)
        return
    for node in found:
        reason = _suspicious(node, nodes)
        if reason:
            ctx.flag(rule, f"{reason} (line {node.lineno})", label)


def _suspicious(node: Any, nodes: Any) -> str | None:
    if isinstance(node, nodes.Getattr) and ("__" in node.attr or node.attr in SUSPICIOUS_ATTRS):
        return f"attribute access .{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, (nodes.Concat, nodes.Add, nodes.Filter, nodes.Call)):
        return "item access with a computed key"
    if isinstance(node, nodes.Name) and node.name in SUSPICIOUS_NAMES:
        return f"use of {node.name!r}"
    if isinstance(node, nodes.Const) and isinstance(node.value, str) and "__" in node.value:
        return f"dunder string {node.value[:40]!r}"
    if isinstance(node, nodes.Filter) and node.name in ("attr", "map") and any(
        isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_") for arg in node.args
    ):
        return f"|{node.name} filter reaching a private attribute"
    if isinstance(node, nodes.Filter) and node.name == "attr":
        return "|attr filter (attribute access by string)"
    return None
