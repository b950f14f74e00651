"""The policy is the root of trust: `assets/policies/policy_log.jsonl` holds its signed versions.

Each line (a hash-chained ledger record) holds one version of `policy.yaml`'s content. Version 1
(the root) must be signed by `governance.threshold` of its own governance owners; version N+1
counts only when signed by a threshold of the governance owners of version N AND of version N+1,
the way TUF rotates its root, so neither the old owners alone nor a new keyring alone can take
over. The gate uses `policy.yaml` only while its content equals the newest version that
verifies; any other change blocks every model with a reason naming what changed. The root can be
pinned (`$AISEC_POLICY_ROOT`: the root record's hash); a pinned deployment refuses any other
root, so a pull request cannot start a new history signed by keys of its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from ..inventory.loader import InventoryError, read_yaml
from ..inventory.schema import SHA256_PATTERN, Strict
from ..trust.keyring import GOVERNANCE_OWNER
from ..trust.ledger import Sign, SignatureEntry, add_signature, append_record, read_chain
from ..trust.statements import canonical_json, verify
from .policy import POLICY_FILE, Policy

POLICY_LOG = Path("policies") / "policy_log.jsonl"
PAYLOAD_TYPE = "application/vnd.aisec.policy+json"
PIN_ENV = "AISEC_POLICY_ROOT"
MAX_CHANGES_SHOWN = 6



class PolicyVersion(Strict):
    seq: int = Field(ge=1)
    policy: dict[str, Any]
    recorded_at: datetime
    prev_hash: str = Field(pattern=SHA256_PATTERN)
    hash: str = Field(pattern=SHA256_PATTERN)
    signatures: tuple[SignatureEntry, ...] = ()


@dataclass(frozen=True)
class PolicyTrust:
    """Whether `policy.yaml` is a signed version, and of which history."""

    version: int  # the newest version that verifies (0: none)
    root: str  # hash of the root record ("" when there is none)
    head: str  # hash of the newest verified record
    problems: tuple[str, ...] = ()
    signers: tuple[str, ...] = ()  # who signed the version in force
    warnings: tuple[str, ...] = ()  # e.g. published demo keys in the keyring

    @property
    def trusted(self) -> bool:
        return not self.problems and self.version > 0


def read_versions(inventory_root: Path):
    return read_chain(inventory_root / POLICY_LOG, PolicyVersion.model_validate)


def verify_policy(inventory_root: Path, pinned_root: str | None = None,
                  current: dict[str, Any] | None = None) -> PolicyTrust:
    """Check the policy log and that `policy.yaml` (or `current`) is its newest signed version."""
    pinned_root = pinned_root if pinned_root is not None else os.environ.get(PIN_ENV) or None
    chain = read_versions(inventory_root)
    if not chain.intact:
        return PolicyTrust(0, "", "", (f"{POLICY_LOG} tampered at {chain.problem}",))
    if not chain.records:
        return PolicyTrust(0, "", "", (f"{POLICY_LOG} holds no signed version of the policy: the "
                                       "governance owners sign it with `aisec policy sign --key KEY`",))
    trusted, problems = _walk(chain.records, chain.raw)
    root = chain.records[0].hash
    if pinned_root and root != pinned_root:
        problems = [f"the policy history's root {root[:12]} is not the pinned root {pinned_root[:12]} "
                    f"(${PIN_ENV}): a new history is not a new version"] + problems
    if trusted is None:
        return PolicyTrust(0, root, "", tuple(problems))
    trusted, trusted_raw = trusted
    try:
        current = current if current is not None else read_yaml(inventory_root / POLICY_FILE)
    except InventoryError as exc:
        return PolicyTrust(trusted.seq, root, trusted.hash, (*problems, str(exc)))
    if canonical_json(current) != canonical_json(trusted.policy):
        problems.append(_unsigned_change(trusted, current))
    demo = [p["name"] for p in trusted.policy.get("keyring", ()) if isinstance(p, dict) and p.get("demo")]
    warnings = (f"the policy's keyring trusts published DEMO keys ({', '.join(demo)}): nothing they "
                "sign can be trusted outside the demo; replace the keyring",) if demo else ()
    return PolicyTrust(trusted.seq, root, trusted.hash, tuple(problems), _signers(trusted_raw), warnings)


def _walk(records, raws) -> tuple[tuple[PolicyVersion, dict] | None, list[str]]:
    """The newest version whose signatures satisfy the rotation rule, and what is wrong after it.
    Signatures are checked over each record as written (`raws`), never a re-serialisation."""
    trusted, previous = None, None
    for record, raw in zip(records, raws):
        try:
            policy = Policy.model_validate(record.policy)
        except ValidationError as exc:
            return trusted, [f"policy version {record.seq} is not a valid policy: {exc.errors()[0]['msg']}"]
        missing = _missing_signatures(raw, policy, "its own")
        if previous is not None:
            missing += _missing_signatures(raw, previous, f"version {record.seq - 1}'s")
        if missing:
            state = "awaits signatures" if record is records[-1] else "does not verify"
            return trusted, [f"policy version {record.seq} {state}: {'; '.join(missing)}"]
        trusted, previous = (record, raw), policy
    return trusted, []


def _missing_signatures(raw: dict, keyring_from: Policy, whose: str) -> list[str]:
    check = verify(raw, PAYLOAD_TYPE, keyring_from.people)
    owners = check.with_role(GOVERNANCE_OWNER)
    need = keyring_from.governance.threshold
    if len(owners) >= need:
        return []
    names = ", ".join(p.name for p in owners) or "none"
    return [f"{len(owners)} of the {need} signatures of {whose} governance owners it needs ({names})"]


def _signers(raw: dict) -> tuple[str, ...]:
    policy = Policy.model_validate(raw["policy"])
    return verify(raw, PAYLOAD_TYPE, policy.people).names


def _unsigned_change(trusted: PolicyVersion, current: Any) -> str:
    changed = _differences(trusted.policy, current)
    shown = "; ".join(changed[:MAX_CHANGES_SHOWN])
    more = f"; and {len(changed) - MAX_CHANGES_SHOWN} more" if len(changed) > MAX_CHANGES_SHOWN else ""
    return (f"{POLICY_FILE} differs from signed policy version {trusted.seq}: {shown}{more}; an "
            "unsigned policy change blocks every model until the governance owners sign it "
            "(`aisec policy sign --key KEY`)")


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                found.append(f"{where} removed")
            elif key not in old:
                found.append(f"{where} added")
            else:
                found += _differences(old[key], new[key], where)
        return found
    if canonical_json(old) == canonical_json(new):
        return []
    if isinstance(old, list) and isinstance(new, list):
        found = [] if len(old) == len(new) else [f"{path}: {len(old)} -> {len(new)} items"]
        for index, (a, b) in enumerate(zip(old, new)):
            found += _differences(a, b, f"{path}[{index}]")
        return found
    return [f"{path or 'policy'}: {_short(old)} -> {_short(new)}"]


def _short(value: Any) -> str:
    text = canonical_json(value)
    return text if len(text) <= 60 else text[:57] + "..."


def sign_policy(inventory_root: Path, sign: Sign, now: datetime | None = None) -> tuple[PolicyVersion, bool]:
    """Sign `policy.yaml` as it is: co-sign the newest version when it holds the same content,
    else propose it as the next version with this signature. Returns (record, proposed)."""
    current = read_yaml(inventory_root / POLICY_FILE)
    try:
        Policy.model_validate(current)
    except ValidationError as exc:
        raise InventoryError(f"{inventory_root / POLICY_FILE}: not a valid policy, refusing to sign: "
                             f"{exc.errors()[0]['msg']}") from None
    chain = read_versions(inventory_root)
    path = inventory_root / POLICY_LOG
    if chain.records and canonical_json(chain.records[-1].policy) == canonical_json(current):
        return add_signature(path, chain.records[-1].seq, sign, PolicyVersion.model_validate), False
    now = now or datetime.now(timezone.utc)
    fields = {"policy": current, "recorded_at": now.isoformat()}
    return append_record(path, lambda chain: fields, PolicyVersion.model_validate, sign), True
