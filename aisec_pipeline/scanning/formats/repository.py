"""The non-weight files of a model repository (a Hugging Face folder, a .nemo or tar member),
recognised by content first and named by their role.

- JSON configs are parsed and checked: `auto_map`, `custom_pipelines` and `trust_remote_code`
  name code that transformers imports from the repository; a `chat_template` goes through the
  template analysis; a Keras model config is walked for Lambda layers; Hydra `_target_` entries
  name what a loader instantiates.
- Python source is code a loader can import (`trust_remote_code`): a finding that names which
  config imports it. A `#!` script is a finding too.
- Chat templates (`*.jinja`, `chat_template` keys) are parsed, never rendered.
- Tokenizer and vocabulary files, Markdown and other plain text are data: no loader executes them.

Binary content that matches no format still fails closed (see `formats.scan_source`).
"""

from __future__ import annotations

import ast
import json
import os
import posixpath
from collections.abc import Iterator
from typing import Any

from ..context import ScanContext, Source, inner
from .base import ENGINE, nested_dicts

MAX_TEXT = 256 << 20  # configs and tokenizers are read whole; larger text is not parsed
REMOTE_CODE_KEYS = ("auto_map", "custom_pipelines")
TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")
YAML_SUFFIXES = (".yaml", ".yml")
DOCUMENT_SUFFIXES = (".md", ".txt", ".rst")  # documents: Python only if named .py, never by resemblance
TEXT_ROLES = {  # name -> role, for the report only (the content decides what is checked)
    "readme.md": "model card", "license": "licence", "license.md": "licence", "license.txt": "licence",
    "vocab.txt": "vocabulary", "merges.txt": "BPE merges", ".gitattributes": "git attributes",
    "added_tokens.json": "tokenizer data", "special_tokens_map.json": "tokenizer data",
    "tokenizer.json": "tokenizer", "vocab.json": "vocabulary", "generation_config.json": "generation config",
    "tokenizer_config.json": "tokenizer config", "config.json": "model config",
    "preprocessor_config.json": "preprocessor config", "adapter_config.json": "adapter config",
}


COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".lzma", ".zst", ".lz4", ".z")


def name_of(source: Source) -> str:
    """The file or member name (an archive member's own name, not its temporary copy's); a
    decompressed stream takes its compressed file's name without the compression suffix."""
    parts = source.label.split(" > ") if source.label else [source.path or ""]
    if parts[-1].endswith("-decompressed") and len(parts) > 1:
        name = posixpath.basename(parts[-2].replace("\\", "/"))
        suffix = next((s for s in COMPRESSION_SUFFIXES if name.lower().endswith(s)), "")
        return name[: len(name) - len(suffix)]
    return posixpath.basename(parts[-1].replace("\\", "/"))


def is_text(head: bytes) -> bool:
    """UTF-8 without control bytes other than whitespace (a README, a vocabulary, a config)."""
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # only a character cut by the window is acceptable
            return False
        text = head[: exc.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\n\r\f\v" for ch in text)


def scan_text(source: Source, ctx: ScanContext) -> str:
    """A text file: checked by what its content is; returns the format name."""
    name = name_of(source).lower()
    if source.size > MAX_TEXT:
        ctx.error(ENGINE, "unparseable-config", f"a {source.size:,}-byte text file is larger than the scanner parses", source.label)
        return "text"
    with source.open() as stream:
        raw = stream.read(MAX_TEXT)
    text = raw.decode("utf-8", errors="replace")
    stripped = text.lstrip("\ufeff \t\r\n")
    if name.endswith(TEMPLATE_SUFFIXES):
        from .gguf_file import check_template

        check_template(text, ctx, source.label, rule="repo.template-injection")
        return "chat-template"
    if name.endswith(".json") or (stripped[:1] in ("{", "[") and _parses_as_json(text)):
        return _scan_json(text, source, ctx)
    if name.endswith(YAML_SUFFIXES):
        return _scan_yaml(text, source, ctx)
    if stripped.startswith("#!"):
        ctx.flag("repo.script", f"an executable script ({stripped.splitlines()[0][:60]!r})", source.label)
        return "script"
    if name.endswith(".py") or (not name.endswith(DOCUMENT_SUFFIXES) and _looks_like_python(text)):
        ctx.flag("repo.python-code", f"Python source{_imported_by(source)}", source.label)
        return "python"
    role = TEXT_ROLES.get(name) or ("Markdown" if name.endswith(".md") else "plain text")
    ctx.flag("repo.text", f"{role}: data, not executed by any loader", source.label)
    return "text"


def _parses_as_json(text: str) -> bool:
    """A document that starts with "[" or "{" (a Markdown link, a template) is JSON only if it parses."""
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _looks_like_python(text: str) -> bool:
    """Parses as Python and imports, defines or calls something (a vocabulary of bare words also
    parses, as names)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    code = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Call)
    return any(isinstance(node, code) for node in ast.walk(tree))


def _imported_by(source: Source) -> str:
    """`: imported by config.json auto_map AutoModel` when a sibling config names this module."""
    if source.path is None:
        return ": code a loader can import from the repository"
    folder, module = os.path.dirname(source.path), os.path.basename(source.path).removesuffix(".py")
    users = []
    for config in ("config.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json"):
        try:
            with open(os.path.join(folder, config), "rb") as stream:
                data = json.loads(stream.read(MAX_TEXT))
        except (OSError, ValueError):
            continue
        users += [f"{config} {key}" for key, ref in _remote_refs(data) if _names_module(ref, module)]
    if not users:
        return ": code in the model folder (transformers imports such files with trust_remote_code)"
    return ": imported by " + ", ".join(users) + " (runs with trust_remote_code)"


def _names_module(ref: str, module: str) -> bool:
    path = ref.split("--", 1)[-1]  # "repo--module.Class" points into another repository
    return path.rsplit(".", 1)[0].split(".")[-1] == module or path.split(".")[0] == module


def _remote_refs(data: Any) -> Iterator[tuple[str, str]]:
    """(where, reference) for each code reference under `auto_map` / `custom_pipelines`."""
    if not isinstance(data, dict):
        return
    for key in REMOTE_CODE_KEYS:
        yield from _strings(data.get(key), f"{key}")


def _strings(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{where}[{index}]")


def _scan_json(text: str, source: Source, ctx: ScanContext) -> str:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as exc:
        ctx.error(ENGINE, "unparseable-config", f"not valid JSON ({exc})", source.label)
        return "json"
    check_config_data(data, ctx, source.label)
    return "json"


class DuplicateKey(ValueError):
    """Two loaders may read different values for one key."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise DuplicateKey(f"a key appears twice: {sorted({k for k in keys if keys.count(k) > 1})[:3]}")
    return dict(pairs)


def check_config_data(data: Any, ctx: ScanContext, label: str) -> None:
    """What a parsed JSON or YAML config asks a loader to run."""
    for where, ref in _remote_refs(data):
        ctx.flag("repo.remote-code", f"{where} = {ref!r}: code transformers imports with trust_remote_code", label)
    for where, node in nested_dicts(data, "$"):
        if node.get("trust_remote_code") is True:
            ctx.flag("repo.remote-code", f"{where}.trust_remote_code is true", label)
        if isinstance(node.get("chat_template"), (str, list)):  # a vocabulary may hold the word as a token
            _check_chat_templates(node["chat_template"], ctx, inner(label, f"{where}.chat_template"))
        target = node.get("_target_")
        if isinstance(target, str):
            _check_target(target, ctx, label, where)
    if isinstance(data, dict) and isinstance(data.get("class_name"), str) and "config" in data:
        from .keras_config import check_config

        check_config(data, ctx, label)


def _check_chat_templates(value: Any, ctx: ScanContext, label: str) -> None:
    from .gguf_file import check_template

    templates = [value] if isinstance(value, str) else [
        item.get("template") for item in value if isinstance(item, dict)] if isinstance(value, list) else [None]
    for template in templates:
        if not isinstance(template, str):
            ctx.error(ENGINE, "unparseable-template", "chat_template is not a string or a list of named templates", label)
            continue
        check_template(template, ctx, label, rule="repo.template-injection")


def _check_target(target: str, ctx: ScanContext, label: str, where: str) -> None:
    from ..pickle_policy import gadget_kind

    kind = gadget_kind(target)
    if kind is not None:
        ctx.flag("repo.dangerous-target", f"{where}._target_ = {target!r} is {kind}", label)
    else:
        ctx.flag("repo.instantiates", f"{where}._target_ = {target!r} is instantiated on load", label)




def _scan_yaml(text: str, source: Source, ctx: ScanContext) -> str:
    import yaml

    from ...inventory.yaml_text import load_strict

    try:
        data = load_strict(text)  # plain data only: object tags, aliases and duplicate keys are refused
    except (yaml.YAMLError, RecursionError) as exc:
        ctx.error(ENGINE, "unparseable-config", f"not YAML that builds plain data ({str(exc)[:200]})", source.label)
        return "yaml"
    check_config_data(data, ctx, source.label)
    return "yaml"


MAX_TOKENIZER_MODEL = 64 << 20
SENTENCEPIECE_FIELDS = frozenset({1, 2, 3, 4, 5})  # pieces, trainer, normalizer, self-test, denormalizer


def is_sentencepiece(source: Source, head: bytes) -> bool:
    """A SentencePiece model (`tokenizer.model`): a protobuf whose top-level fields are all
    sentencepiece's, and whose first pieces carry a string and a float score. Parsed whole."""
    if head[:1] != b"\x0a" or source.size > MAX_TOKENIZER_MODEL:
        return False
    from ..protobuf import FIXED32, LEN, WireError, fields

    with source.open() as stream:
        data = stream.read(MAX_TOKENIZER_MODEL)
    try:
        top = list(fields(data))
        pieces = [value for number, wire, value in top if number == 1 and wire == LEN]
        if not pieces or any(number not in SENTENCEPIECE_FIELDS or wire != LEN for number, wire, _ in top):
            return False
        first = {(number, wire) for number, wire, _ in fields(pieces[0])}  # type: ignore[arg-type]
    except WireError:
        return False
    return (1, LEN) in first and (2, FIXED32) in first


def scan_sentencepiece(source: Source, ctx: ScanContext) -> str:
    ctx.flag("repo.text", "SentencePiece tokenizer model: vocabulary data, parsed by protobuf", source.label)
    return "sentencepiece"
