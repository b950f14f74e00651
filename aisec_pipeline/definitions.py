"""Dagster entry point (workspace.yaml): the components under `defs/`."""

from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(project_root=PROJECT_ROOT)
