"""Signed statements: DSSE signatures over the canonical JSON of a record's content.

A record that permits something (a card approval, a committee approval, an incident closed,
a policy version, a gate's decision) carries `signatures`: DSSE signature objects
(`{"keyid", "sig"}`, sig base64) over the DSSE pre-authentication encoding of its payload type
and the canonical JSON of the record without `hash` and `signatures`. The record's other fields
(including `seq` and `prev_hash` for ledger records, so a signature also vouches for the
history before it) are what the signers said. Several people may sign one record.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .keyring import Keyring, Person

UNSIGNED_FIELDS = ("hash", "signatures")


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def signed_content(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in UNSIGNED_FIELDS}


def _envelope(content: Mapping[str, Any], payload_type: str, signatures=None):
    from securesystemslib.dsse import Envelope

    return Envelope(canonical_json(signed_content(content)).encode("utf-8"), payload_type,
                    signatures or {})


def sign(content: Mapping[str, Any], payload_type: str, signer) -> dict[str, str]:
    """One DSSE signature object by `signer` (a securesystemslib Signer) over `content`."""
    signature = _envelope(content, payload_type).sign(signer)
    return {"keyid": signature.keyid, "sig": base64.b64encode(bytes.fromhex(signature.signature)).decode()}


def envelope_dict(content: Mapping[str, Any], payload_type: str,
                  signatures: Iterable[Mapping[str, str]]) -> dict[str, Any]:
    """The standard DSSE envelope JSON for a signed record (for export and other tools)."""
    return {"payload": base64.b64encode(canonical_json(signed_content(content)).encode()).decode(),
            "payloadType": payload_type, "signatures": [dict(s) for s in signatures]}


@dataclass(frozen=True)
class Verification:
    """Who verifiably signed a record, and what was wrong with the other signatures."""

    signers: tuple[Person, ...] = ()
    unknown: tuple[str, ...] = ()  # keyids the keyring does not list
    invalid: tuple[str, ...] = ()  # names whose listed key does not verify this content

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.signers)

    def with_role(self, *roles: str) -> tuple[Person, ...]:
        return tuple(p for p in self.signers if p.has(*roles))

    def describe(self) -> str:
        parts = []
        if self.signers:
            parts.append("signed by " + ", ".join(self.names))
        if self.invalid:
            parts.append("signature of " + ", ".join(self.invalid) + " does not verify")
        if self.unknown:
            parts.append(f"{len(self.unknown)} signature(s) by keys not in the policy's keyring")
        return "; ".join(parts) or "unsigned"


def verify(content: Mapping[str, Any], payload_type: str, keyring: Keyring) -> Verification:
    """Check every signature on `content` (its `signatures` field) against the keyring. Never
    raises: malformed signatures count as invalid or unknown, never as signed."""
    raw = content.get("signatures")
    if not isinstance(raw, list) or not raw:
        return Verification()
    pae = _envelope(content, payload_type).pae()
    signers: dict[str, Person] = {}
    unknown, invalid = [], []
    for item in raw:
        keyid = item.get("keyid") if isinstance(item, dict) else None
        person = keyring.by_keyid(keyid) if isinstance(keyid, str) else None
        if person is None:
            unknown.append(str(keyid))
        elif _verifies(person, keyid, item.get("sig"), pae):
            signers.setdefault(person.name, person)
        else:
            invalid.append(person.name)
    return Verification(tuple(signers.values()), tuple(unknown), tuple(invalid))


def _verifies(person: Person, keyid: str, sig: Any, pae: bytes) -> bool:
    from securesystemslib.exceptions import UnverifiedSignatureError
    from securesystemslib.signer import Signature

    from .keys import public_key

    try:
        signature = Signature(keyid, base64.b64decode(sig, validate=True).hex())
    except (TypeError, ValueError):
        return False
    for pem in person.public_keys:
        key = public_key(pem)
        if key.keyid != keyid:
            continue
        try:
            key.verify_signature(signature, pae)
            return True
        except UnverifiedSignatureError:
            return False
    return False
