"""Observed governance inputs: a change to the policy, the committee register, the incident log
or the regulations re-evaluates models (their decisions depend on these)."""

from pathlib import Path

import dagster as dg

from ..cards.review import REVIEW_FILE
from ..governance.committee import REGISTER_FILE
from ..governance.incidents import INCIDENT_FILE
from ..governance.policy import POLICY_FILE
from ..governance.regulations import REGULATIONS_FILE
from .evidence import GOVERNANCE_INPUT_FILES, files_version  # the gate's own data version of a file
from .resources import GovernedInventory

GOVERNANCE_FILES = {
    "policy": (POLICY_FILE, "Risk tiers, required evidence, thresholds and freshness."),
    "committee_register": (REGISTER_FILE, "The ethics committee's append-only, hash-chained decisions."),
    "incidents": (INCIDENT_FILE, "AI incidents: an open serious incident blocks new deployments."),
    "card_reviews": (REVIEW_FILE, "Named people's reviews of each model card's exact bytes."),
    "regulations": (REGULATIONS_FILE, "EU AI Act and UK Code of Practice mapping and deadlines."),
}
GOVERNANCE_KEYS = [dg.AssetKey(["governance", name]) for name in GOVERNANCE_FILES]
# What every decision reads whole; of the ledgers a decision reads its model's lines (its own
# source assets, `evidence.SCOPED_LEDGERS`), so a record about one model stales that one only.
DECISION_GOVERNANCE = [dg.AssetKey(["governance", name]) for name in GOVERNANCE_INPUT_FILES]


def governance_file_versions(root: Path, hash_file=None) -> dict[dg.AssetKey, str]:
    """The data version of every governance file the decision depends on (what their observable
    source assets report), so the gate and the sensor observe them as the UI would."""
    hashed = (lambda paths: files_version(paths, hash_file)) if hash_file else files_version
    return {dg.AssetKey(["governance", name]): hashed([root / relative])
            for name, (relative, _) in GOVERNANCE_FILES.items()}


def observed_file(name: str, relative: Path, description: str) -> dg.SourceAsset:
    @dg.observable_source_asset(key=["governance", name], group_name="governance",
                                description=f"assets/{relative.as_posix()}: {description}")
    def _observe(inventory: GovernedInventory) -> dg.DataVersion:
        return dg.DataVersion(files_version([inventory.path / relative]))

    return _observe


GOVERNANCE_ASSETS = [observed_file(name, *spec) for name, spec in GOVERNANCE_FILES.items()]
