"""Load and validate the governed inventory under `assets/`.

YAML is parsed by `yaml_text.load_strict` only (safe, no aliases, no duplicate keys, size-capped).
Every model folder resolves inside the inventory, and every path an entry names is confined to
the model's own folder: no absolute paths, no `..`, no symlink leading outside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .schema import RegistryEntry
from .yaml_text import load_strict

ENTRY_FILE = "model.yaml"
MODELS_DIR = "models"


class InventoryError(Exception):
    """An inventory file is missing, unparseable or invalid. The message names file and field."""


@dataclass(frozen=True)
class Model:
    """A registry entry together with the folder it lives in."""

    entry: RegistryEntry
    folder: Path

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def entry_file(self) -> Path:
        return self.folder / ENTRY_FILE

    def path(self, relative: str) -> Path:
        return confine(self.folder, relative)


def default_inventory_root() -> Path:
    """`AISEC_INVENTORY` if set, else `assets/` of the current directory."""
    return Path(os.environ.get("AISEC_INVENTORY", "assets")).resolve()


def resolve_inventory(given: Path | str | None = None) -> Path:
    """The one inventory resolver of every `aisec` command: `--inventory` if given, else
    `$AISEC_INVENTORY`, else `./assets`; relative paths against the current directory."""
    return Path(given).resolve() if given else default_inventory_root()


def confine(folder: Path, relative: str) -> Path:
    """Resolve `relative` inside `folder`, refusing anything that would escape it."""
    if not relative or os.path.isabs(relative) or relative.startswith("~"):
        raise InventoryError(f"path {relative!r} must be relative to {folder}")
    if ".." in Path(relative).parts:
        raise InventoryError(f"path {relative!r} may not contain '..'")
    root = folder.resolve()
    resolved = (root / relative).resolve()
    if resolved != root and root not in resolved.parents:
        raise InventoryError(f"path {relative!r} leads outside {folder} (symlink?)")
    return resolved


# A registry entry or policy is a page or two of text (the demo's largest: 4.5 KB), never
# megabytes; the cap also bounds the parse time (64 KB of the slowest shape: about 0.1 s).
MAX_YAML_BYTES = 64 * 1024


def read_yaml(path: Path, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Parse a YAML file safely: at most `max_bytes` (so the parse time is bounded), strictly
    (`yaml_text`), errors naming the file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InventoryError(f"{path}: file not found") from None
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read: {exc}") from None
    if len(data) > max_bytes:
        raise InventoryError(f"{path}: larger than the {max_bytes:,}-byte limit for this file; "
                             "is it the right file?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError(f"{path}: not UTF-8 text: {exc}") from None
    try:
        return load_strict(text)
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:
        raise InventoryError(f"{path}: invalid YAML: nested too deeply") from None


def describe_validation_error(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "(top level)"
        problems.append(f"{path}: {field}: {err['msg']}")
    return "\n".join(problems)


def inventory_folder(folder: Path) -> Path:
    """A model folder (`<inventory>/models/<name>`) resolved, refusing one that leads outside
    its inventory (a symlinked folder or `models/` pointing elsewhere), naming the path."""
    inventory, resolved = folder.parent.parent.resolve(), folder.resolve()
    if inventory not in resolved.parents:
        raise InventoryError(f"{folder}: the model folder leads outside the inventory {inventory} "
                             f"(to {resolved}): a model must live inside the inventory being judged")
    return resolved


def load_model(folder: Path) -> Model:
    resolved = inventory_folder(folder)
    entry_file = folder / ENTRY_FILE
    try:
        confine(resolved, ENTRY_FILE)
    except InventoryError as exc:
        raise InventoryError(f"{entry_file}: {exc}") from None
    data = read_yaml(entry_file)
    if not isinstance(data, dict):
        raise InventoryError(f"{entry_file}: expected a mapping at the top level")
    try:
        entry = RegistryEntry.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(describe_validation_error(entry_file, exc)) from None
    if entry.name != folder.name:
        raise InventoryError(f"{entry_file}: name: {entry.name!r} must match its folder {folder.name!r}")
    model = Model(entry, resolved)
    for field, relative in referenced_paths(entry):
        try:
            model.path(relative)
        except InventoryError as exc:
            raise InventoryError(f"{entry_file}: {field}: {exc}") from None
    return model


def referenced_paths(entry: RegistryEntry) -> list[tuple[str, str]]:
    """Every path the entry names, with the field that names it (e.g. `artifacts.0.path`)."""
    paths = [("card", entry.card)]
    paths += [(f"artifacts.{i}.path", a.path) for i, a in enumerate(entry.artifacts)]
    signature = entry.provenance.signature
    if signature:
        paths += [("provenance.signature.bundle", signature.bundle),
                  ("provenance.signature.public_key", signature.public_key)]
    if entry.endpoint:
        paths.append(("endpoint.system_prompt_file", entry.endpoint.system_prompt_file))
        if entry.endpoint.serve_artifact:
            paths.append(("endpoint.serve_artifact", entry.endpoint.serve_artifact))
    if entry.evaluation:
        paths.append(("evaluation.data", entry.evaluation.data))
        if entry.evaluation.statement:
            paths.append(("evaluation.statement", entry.evaluation.statement))
    if entry.monitoring and entry.monitoring.log:
        paths.append(("monitoring.log", entry.monitoring.log))
    return paths


def model_folders(root: Path) -> list[Path]:
    models_dir = root / MODELS_DIR
    if not models_dir.is_dir():
        raise InventoryError(f"{models_dir}: inventory folder not found")
    return sorted(p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_inventory(root: Path | None = None) -> list[Model]:
    """Every model under `root/models`; raises InventoryError listing every bad entry."""
    root = root or default_inventory_root()
    models, problems = [], []
    for folder in model_folders(root):
        try:
            models.append(load_model(folder))
        except InventoryError as exc:
            problems.append(str(exc))
    if problems:
        raise InventoryError("\n".join(problems))
    return models
