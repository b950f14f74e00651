"""Sensors and schedules: re-evaluation on new versions, drift checks, committee packs."""

from __future__ import annotations

import dagster as dg


def gate_job() -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job("gate_all", selection=dg.AssetSelection.all() - dg.AssetSelection.groups("governance"),
                               description="Re-gate every registered model: all evidence, then the decision.")


def automation_definitions(models) -> dg.Definitions:
    return dg.Definitions(jobs=[gate_job()])
