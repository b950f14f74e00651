"""Observed governance inputs: a change to the policy or the committee register re-evaluates models."""

from __future__ import annotations

import hashlib

import dagster as dg

from ..governance.policy import POLICY_FILE
from .model_assets import COMMITTEE_KEY, POLICY_KEY
from .resources import GovernedInventory

COMMITTEE_FILE = "committee/decisions.jsonl"


def _file_version(path) -> dg.DataVersion:
    try:
        return dg.DataVersion(hashlib.sha256(path.read_bytes()).hexdigest())
    except FileNotFoundError:
        return dg.DataVersion("missing")


@dg.observable_source_asset(key=POLICY_KEY, group_name="governance",
                            description="assets/policies/policy.yaml: tiers, thresholds, freshness.")
def policy_file(inventory: GovernedInventory) -> dg.DataVersion:
    return _file_version(inventory.path / POLICY_FILE)


@dg.observable_source_asset(key=COMMITTEE_KEY, group_name="governance",
                            description="The ethics committee's append-only decision register.")
def committee_register(inventory: GovernedInventory) -> dg.DataVersion:
    return _file_version(inventory.path / COMMITTEE_FILE)


GOVERNANCE_ASSETS = [policy_file, committee_register]
