"""A deployment request: `deployment.yaml` names the model, version, use case and environment.

The use case is checked against the card's validated use cases by `decide()`; a request for
another version than the registry holds is refused here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..cards.schema import USE_CASE_ID_PATTERN
from ..inventory import Model
from ..inventory.schema import NAME_PATTERN, Strict
from .policy import load_yaml_model


class DeploymentManifest(Strict):
    model: str = Field(pattern=NAME_PATTERN)
    version: str = Field(min_length=1)
    use_case: str = Field(pattern=USE_CASE_ID_PATTERN, max_length=64)
    environment: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")


def load_manifest(path: Path) -> DeploymentManifest:
    """Parse with the strict YAML loader and validate; InventoryError names the file and field."""
    return load_yaml_model(path, DeploymentManifest)


def manifest_problems(manifest: DeploymentManifest, model: Model) -> list[str]:
    """Reasons the request does not match the registry entry it names (empty: it matches)."""
    problems = []
    if manifest.model != model.entry.name:
        problems.append(f"deployment manifest names model {manifest.model!r}, "
                        f"the registry entry is {model.entry.name!r}")
    if manifest.version != model.entry.version:
        problems.append(f"deployment manifest asks for version {manifest.version!r}, the registry "
                        f"holds {model.entry.version!r}: only the registered version can be gated")
    return problems
