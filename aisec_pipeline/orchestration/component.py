"""The inventory component: every model folder under `assets/models` becomes an asset group."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from ..governance.policy import load_policy
from ..inventory import load_inventory
from .evidence import RunInputs
from .governance_assets import GOVERNANCE_ASSETS
from .memory import MEMORY_SPEC
from .model_assets import build_model_assets
from .resources import GovernedInventory, LocalLLMServer, RunFolders, progress_logger


class ModelInventory(dg.Component, dg.Model, dg.Resolvable):
    """Builds each registered model's assets and checks, plus the shared governance inputs.

    `inventory` defaults to $AISEC_INVENTORY, else `assets/` at the project root.
    """

    inventory: str | None = None

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return inventory_definitions(self.resolve_root(context.project_root))

    def resolve_root(self, project_root: Path) -> Path:
        chosen = self.inventory or os.environ.get("AISEC_INVENTORY") or "assets"
        return (Path(project_root) / chosen).resolve()


def inventory_definitions(root: Path, run_inputs: RunInputs | None = None) -> dg.Definitions:
    """`run_inputs`: the gate's own reader, so a run uses the inputs the gate read for it;
    elsewhere (UI, daemon) each run reads them itself, once."""
    from .automation import automation_definitions
    from .reporting import reporting_definitions

    models = load_inventory(root)
    policy = load_policy(root)
    assets = [*GOVERNANCE_ASSETS, MEMORY_SPEC]
    for model in models:
        assets += build_model_assets(model, policy)
    return dg.Definitions.merge(
        dg.Definitions(
            assets=assets,
            resources={"inventory": GovernedInventory(root=str(root)), "run_folders": RunFolders(),
                       "llm_server": LocalLLMServer(),
                       "run_inputs": dg.ResourceDefinition.hardcoded_resource(
                           run_inputs or RunInputs(), "each run's reading of its inputs")},
            executor=dg.in_process_executor,  # 3x faster than multiprocess for these short steps
            # Replacing the default loggers: keep Dagster's console logger, add aisec's progress.
            loggers={"console": dg.colored_console_logger, "progress": progress_logger},
        ),
        automation_definitions(models, root),
        reporting_definitions(models),
    )
