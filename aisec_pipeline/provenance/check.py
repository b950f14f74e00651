"""The provenance verdict: artifacts present, checksums match, source trusted, signature valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..governance.policy import Policy, TierPolicy
from ..inventory.loader import InventoryError, Model
from ..verdict import Status, Verdict
from .digest import sha256_file
from .signature import SignatureError, compare_with_registry, key_fingerprint, verify_artifacts

KIND = "provenance"
DEMO_INVENTORY = Path(__file__).resolve().parents[2] / "assets"  # the bundled demo, in a checkout


def restore_hint(model: Model) -> str:
    """What to do about a missing or changed artifact, in the user's situation."""
    if model.folder.is_relative_to(DEMO_INVENTORY):
        return "this is a demo model: run scripts/setup.sh to build its artifacts"
    return ("restore the exact file the registry names from your model store, or review the new "
            "file and update its sha256 in model.yaml")


def check_provenance(model: Model, policy: Policy, tier: TierPolicy,
                     actual_sha256: dict[str, str] | None = None) -> Verdict:
    """One Verdict for the model's supply chain. `actual_sha256` (artifact path -> hex) comes
    from the scanner, which already hashed the files; missing entries are hashed here."""
    try:
        return _check(model, policy, tier, dict(actual_sha256 or {}))
    except Exception as exc:  # noqa: BLE001 - fail closed: a crash in any step must not read as a pass
        return Verdict(KIND, Status.FAILED, (f"provenance check could not complete: "
                                             f"{type(exc).__name__}: {exc}",))


def _check(model: Model, policy: Policy, tier: TierPolicy, actual: dict[str, str]) -> Verdict:
    entry = model.entry
    reasons: list[str] = []
    artifacts = []
    for artifact in entry.artifacts:
        figure, problem = _check_artifact(model, artifact.path, artifact.sha256, actual)
        artifacts.append(figure)
        if problem:
            reasons.append(problem)
    source = entry.provenance.source
    if not policy.source_allowed(source):
        reasons.append(f"source {source!r} is not on the policy allowlist "
                       f"({', '.join(policy.provenance.allowed_sources)})")
    signature, problems = _check_signature(model, tier)
    reasons += problems
    figures: dict[str, Any] = {"artifacts": artifacts, "source": source,
                               "source_allowed": policy.source_allowed(source), **signature}
    return Verdict(KIND, Status.FAILED if reasons else Status.PASSED, tuple(reasons), figures)


def _check_artifact(model: Model, relative: str, expected: str,
                    actual: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    figure: dict[str, Any] = {"path": relative, "expected_sha256": expected, "actual_sha256": None}
    try:
        path = model.path(relative)
    except InventoryError as exc:
        return figure, f"artifact path refused: {exc}"
    if not path.is_file():
        return figure, f"artifact missing: {relative} ({path}); {restore_hint(model)}"
    figure["actual_sha256"] = digest = actual.get(relative) or sha256_file(path)
    if digest != expected:
        return figure, (f"checksum mismatch for {relative}: registry says {expected}, file has "
                        f"{digest}; {restore_hint(model)}")
    return figure, None


def _check_signature(model: Model, tier: TierPolicy) -> tuple[dict[str, Any], list[str]]:
    declared = model.entry.provenance.signature
    figures: dict[str, Any] = {"signature_required": tier.require_signature,
                               "signature": "absent", "signer_key_fingerprint": None}
    if declared is None:
        if tier.require_signature:
            return figures, ["this risk tier requires a signature: sign the artifacts and add "
                             "provenance.signature (bundle, public_key) to the registry entry"]
        return figures, []
    try:
        public_key, bundle = model.path(declared.public_key), model.path(declared.bundle)
    except InventoryError as exc:
        return {**figures, "signature": "invalid"}, [f"signature path refused: {exc}"]
    for label, path in (("public key", public_key), ("signature bundle", bundle)):
        if not path.is_file():
            return {**figures, "signature": "invalid"}, [f"{label} missing: {path}"]
    try:
        figures["signer_key_fingerprint"] = key_fingerprint(public_key)
        signed = verify_artifacts(model.folder, public_key, bundle)
    except (SignatureError, ValueError, TypeError, OSError) as exc:
        return {**figures, "signature": "invalid"}, [f"signature does not verify: {exc}"]
    registry = {a.path: a.sha256 for a in model.entry.artifacts}
    problems = compare_with_registry(signed, registry)
    figures["signature"] = "invalid" if problems else "verified"
    return figures, problems
