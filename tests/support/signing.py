"""Signing in tests: the demo people's published keys (scripts/demo_keys), and fresh keys for
attackers who are not in any keyring."""

from __future__ import annotations

from pathlib import Path

from aisec_pipeline.trust.keys import generate_key, load_signer
from aisec_pipeline.trust.statements import sign

DEMO_KEYS = Path(__file__).resolve().parents[2] / "scripts" / "demo_keys"
GOVERNANCE_OWNERS = ("Priya Raman", "Helen Okafor")


def demo_key(name: str) -> Path:
    return DEMO_KEYS / f"{name.lower().replace(' ', '-')}.DEMO-ONLY.key"


def signer_of(key: Path, payload_type: str):
    """sign(record) -> one DSSE signature by the key at `key`."""
    signer = load_signer(key)
    return lambda record: sign(record, payload_type, signer)


def demo_signer(name: str, payload_type: str):
    return signer_of(demo_key(name), payload_type)


def stranger_key(folder: Path, name: str = "mallory") -> Path:
    """A fresh key no keyring lists."""
    path = folder / f"{name}.key"
    if not path.exists():
        generate_key(path)
    return path


def resign_policy(root: Path, owners=GOVERNANCE_OWNERS) -> None:
    """The governance owners sign policy.yaml as it is now (a new signed version)."""
    from aisec_pipeline.governance.policy_trust import PAYLOAD_TYPE, sign_policy

    for owner in owners:
        sign_policy(root, demo_signer(owner, PAYLOAD_TYPE))
