"""Decisions signed by the gate that made them.

A gate deployment holds a private key (`$AISEC_GATE_KEY`: the key file's path) that the policy's
keyring lists with the role `gate`. Every decision it records carries an attestation: a DSSE
signature over a statement naming the model, version, artifact and card digests, environment,
use case, verdict, time, the Dagster run that recorded it and the policy version it was judged
under. Promotion honours an earlier environment's approval only when its attestation verifies
and names the run that recorded it; `--remote` approves only what the deployment's gate signed.
A decision written into an instance by hand, or answered by a look-alike server, proves nothing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..trust.keyring import GATE, Keyring, Person
from ..trust.statements import canonical_json, verify

PAYLOAD_TYPE = "application/vnd.aisec.gate-decision+json"
GATE_KEY_ENV = "AISEC_GATE_KEY"


class AttestationError(Exception):
    """The gate cannot sign its decisions; the message says why."""


def statement(decision, run_id: str) -> dict[str, Any]:
    """What the gate vouches for about one decision."""
    return {"model": decision.model, "version": decision.version,
            "artifact_digest": decision.digest, "card_digest": decision.card_digest,
            "environment": decision.environment, "use_case": decision.use_case,
            "decision": decision.label, "decided_at": decision.decided_at, "run_id": run_id,
            "policy_version": decision.policy_version,
            "reasons_sha256": hashlib.sha256(canonical_json(list(decision.reasons)).encode()).hexdigest()}


@dataclass(frozen=True)
class GateSigner:
    person: Person
    sign: Any  # content -> DSSE signature

    def attest(self, decision, run_id: str) -> dict[str, Any]:
        content = statement(decision, run_id)
        return {"statement": content, "signatures": [self.sign(content)], "gate": self.person.name}


def gate_signer(keyring: Keyring, path: str | None = None) -> GateSigner | None:
    """The gate's signer from `$AISEC_GATE_KEY` (None when unset). A key that cannot be read or
    that the keyring does not list as a gate raises AttestationError: a misconfigured gate blocks."""
    from ..trust.keys import KeyFileError, load_signer
    from ..trust.statements import sign

    path = path if path is not None else os.environ.get(GATE_KEY_ENV)
    if not path:
        return None
    try:
        signer = load_signer(Path(path))
    except KeyFileError as exc:
        raise AttestationError(f"the gate's signing key (${GATE_KEY_ENV}) cannot be used: {exc}") from None
    person = keyring.by_keyid(signer.public_key.keyid)
    if person is None or not person.has(GATE):
        raise AttestationError(f"the gate's signing key (${GATE_KEY_ENV}) is not listed in the "
                               "policy's keyring with the role gate")
    return GateSigner(person, lambda content: sign(content, PAYLOAD_TYPE, signer))


def verify_attestation(decision, keyring: Keyring, run_id: str | None = None) -> tuple[Person | None, str | None]:
    """(the gate that signed this decision, None) or (None, why it proves nothing). `run_id`: the
    run that recorded it, which the statement must name."""
    attestation = decision.attestation
    if not isinstance(attestation, Mapping) or not isinstance(attestation.get("statement"), Mapping):
        return None, "it carries no gate signature"
    content = dict(attestation["statement"])
    if run_id is not None:
        content_run = content.get("run_id")
        if content_run != run_id:
            return None, f"its signature names run {content_run!r}, not the run {run_id!r} that recorded it"
    if canonical_json(content) != canonical_json(statement(decision, content.get("run_id"))):
        return None, "its signed statement does not match the decision it is attached to"
    check = verify({**content, "signatures": attestation.get("signatures")}, PAYLOAD_TYPE, keyring)
    gates = check.with_role(GATE)
    if not gates:
        return None, f"it is not signed by a gate key in the policy's keyring ({check.describe()})"
    return gates[0], None
