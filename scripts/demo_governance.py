#!/usr/bin/env python
"""Rebuild the demo inventory's signed governance files from the declarations below.

    scripts/demo_governance.py keys      write the demo people's private keys and print the keyring
    scripts/demo_governance.py ledgers [INVENTORY]
                                         rewrite the committee register, card reviews and the
                                         policy history (root version signed by the governance
                                         owners) of INVENTORY (default: assets/)

The demo people are fictional and their private keys are PUBLISHED in scripts/demo_keys/
(derived from their names, so the files are reproducible): they show every decision of the
README offline, and must never be trusted outside the demo (`demo: true` in the keyring).
Ed25519 signatures are deterministic, so the ledgers come out byte for byte the same.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEYS = ROOT / "scripts" / "demo_keys"
INVENTORY = ROOT / "assets"

PEOPLE = {  # name -> roles
    "Priya Raman": ["committee_member", "card_reviewer", "governance_owner"],
    "Helen Okafor": ["committee_member", "card_reviewer", "governance_owner", "incident_handler"],
    "Tomasz Nowak": ["committee_member", "card_reviewer"],
    "Jonas Weber": ["card_reviewer"],
    "Amara Okafor": ["model_owner"],
    "Lukas Brenner": ["model_owner"],
    "Hannah Lindqvist": ["model_owner"],
    "Sofia Marin": ["model_owner"],
    "aisec demo gate": ["gate"],
}


def key_file(name: str) -> Path:
    return KEYS / f"{name.lower().replace(' ', '-')}.DEMO-ONLY.key"


def private_key(name: str):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hashlib.sha256(f"aisec demo key, never trust it: {name}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def write_keys() -> None:
    from cryptography.hazmat.primitives import serialization

    from aisec_pipeline.trust.keys import public_pem

    KEYS.mkdir(exist_ok=True)
    print("keyring:")
    for name, roles in PEOPLE.items():
        key = private_key(name)
        key_file(name).write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        pem = public_pem(key.public_key()).strip().replace("\n", "\n        ")
        print(f"  - name: {name}\n    roles: [{', '.join(roles)}]\n    demo: true\n"
              f"    public_keys:\n      - |\n        {pem}")


def signer(name: str):
    from aisec_pipeline.trust.keys import load_signer

    return load_signer(key_file(name))


def sign_with(names, payload_type):
    from aisec_pipeline.trust.statements import sign

    def signing(record):
        return [sign(record, payload_type, signer(n)) for n in names]
    return signing


def append(path: Path, build, parse, names, payload_type) -> None:
    from aisec_pipeline.trust.ledger import append_record

    signatures = sign_with(names, payload_type)
    box = {}

    def first(record):
        box["all"] = signatures(record)
        return box["all"][0]

    record = append_record(path, build, parse, first)
    if len(box["all"]) > 1:
        from aisec_pipeline.trust.ledger import add_signature
        for extra in box["all"][1:]:
            add_signature(path, record.seq, lambda r, s=extra: s, parse)


COMMITTEE = [  # model, decision, signers, fields
    ("invoice-parser-legacy", "block", ["Priya Raman", "Helen Okafor"], {
        "conditions": ["Accounts payable routes invoices to manual entry until a replacement is approved"],
        "decided_on": "2026-11-18",
        "rationale": "Delivered by a former vendor as a raw pickle (weights.bin) with no training-data "
                     "record and no support contract: its provenance cannot be established and it "
                     "cannot be patched. Replace it with a maintained extractor; a new artifact needs "
                     "a fresh approval.",
        "members_present": ["Priya Raman", "Tomasz Nowak", "Helen Okafor"],
        "recorded_at": "2026-11-25T18:54:13.819943+00:00"}),
]

REVIEWS = [  # model, decision, signer, note, recorded_at
    ("credit-default", "approve", "Helen Okafor", "Checked the training data record, the per-segment "
     "splits and the rollback runbook against the evaluation notebook.", "2026-12-01T23:30:26.113863+00:00"),
    ("compas-recidivism", "approve", "Priya Raman", "Card states the research-only scope and the age x "
     "sex gap plainly.", "2026-12-01T23:30:26.616072+00:00"),
    ("compas-recidivism", "approve", "Jonas Weber", "Failure modes and out-of-scope uses match the "
     "evaluation.", "2026-12-01T23:30:27.124563+00:00"),
    ("smollm2-chat", "approve", "Tomasz Nowak", "System prompt, canary and escalation path documented; "
     "limits of a 135M model stated.", "2026-12-01T23:30:27.606122+00:00"),
    ("invoice-parser-legacy", "changes-requested", "Helen Okafor", "No training-data record from the "
     "vendor: the card cannot state what it was trained on.", "2026-12-01T23:30:28.291887+00:00"),
]

POLICY_SIGNERS = ["Priya Raman", "Helen Okafor"]
POLICY_SIGNED_AT = "2026-11-20T09:00:00+00:00"


def write_ledgers(inventory: Path = INVENTORY) -> None:
    from aisec_pipeline.cards.parse import parse_card
    from aisec_pipeline.cards.review import PAYLOAD_TYPE as REVIEW_TYPE
    from aisec_pipeline.cards.review import REVIEW_FILE, CardReview
    from aisec_pipeline.governance.committee import PAYLOAD_TYPE as COMMITTEE_TYPE
    from aisec_pipeline.governance.committee import REGISTER_FILE, CommitteeRecord
    from aisec_pipeline.governance.policy import load_policy
    from aisec_pipeline.governance.policy_trust import PAYLOAD_TYPE as POLICY_TYPE
    from aisec_pipeline.governance.policy_trust import POLICY_LOG, PolicyVersion
    from aisec_pipeline.inventory import load_model
    from aisec_pipeline.inventory.loader import read_yaml

    policy = load_policy(inventory)
    for relative in (REGISTER_FILE, REVIEW_FILE, POLICY_LOG):
        (inventory / relative).unlink(missing_ok=True)
    content = read_yaml(inventory / "policies" / "policy.yaml")
    append(inventory / POLICY_LOG, lambda chain: {"policy": content, "recorded_at": POLICY_SIGNED_AT},
           PolicyVersion.model_validate, POLICY_SIGNERS, POLICY_TYPE)

    def subject_fields(name):
        model = load_model(inventory / "models" / name)
        subject = policy.subject(model.entry)
        return model, {"model": name, "version": subject.version, "artifact_sha256": subject.digest,
                       "classification": subject.classification.model_dump(mode="json")}

    for name, decision, signers, fields in COMMITTEE:
        _, base = subject_fields(name)
        record = {**base, "decision": decision, "defer_until": None, **fields}
        append(inventory / REGISTER_FILE, lambda chain, r=record: r, CommitteeRecord.model_validate,
               signers, COMMITTEE_TYPE)
    for name, decision, reviewer, note, recorded_at in REVIEWS:
        model, base = subject_fields(name)
        parsed = parse_card(model.path(model.entry.card))
        record = {**base, "card_sha256": parsed.sha256, "owner": parsed.header["owner"]["name"],
                  "decision": decision, "reviewer": reviewer, "note": note, "recorded_at": recorded_at}
        append(inventory / REVIEW_FILE, lambda chain, r=record: r, CardReview.model_validate,
               [reviewer], REVIEW_TYPE)
    datetime.fromisoformat(POLICY_SIGNED_AT)
    print(f"wrote {POLICY_LOG}, {REGISTER_FILE}, {REVIEW_FILE} under {inventory}")


# model -> the producer (its owner) who signs that its evaluation file holds its predictions
STATEMENTS = {"credit-default": "Lukas Brenner", "compas-recidivism": "Amara Okafor"}


def write_statements(inventory: Path = INVENTORY) -> None:
    from aisec_pipeline.binding.statement import write_statement
    from aisec_pipeline.inventory import load_model

    for name, producer in STATEMENTS.items():
        print(f"wrote {write_statement(load_model(inventory / 'models' / name), signer(producer))}")


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    if action == "keys":
        write_keys()
    elif action == "ledgers":
        write_ledgers(Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else INVENTORY)
    elif action == "statements":
        write_statements(Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else INVENTORY)
    else:
        sys.exit(__doc__)
