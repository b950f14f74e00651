"""`aisec key generate` and `aisec policy sign|verify`.

key generate: write a new Ed25519 private key (mode 0600) and print the keyring entry a
governance owner adds to policy.yaml. policy sign: sign policy.yaml as it is now (co-sign the
pending version, or propose a new one). policy verify: check the policy history's signatures
and that policy.yaml is its newest signed version. Exit 0 ok, 1 refused or not verified, 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..exits import EXIT_OK
from .command import EXIT_BLOCKED, EXIT_USAGE, _fail, _inventory


def generate_handler(args: argparse.Namespace) -> int:
    import yaml

    from ..trust.keys import KeyFileError, generate_key
    try:
        public = generate_key(args.out)
    except KeyFileError as exc:
        return _fail(str(exc))
    entry = {"name": args.name, "roles": args.role, "public_keys": [public]}
    print(f"wrote the private key to {args.out} (keep it secret; mode 0600). Ask a governance owner "
          "to add this entry to policy.yaml's keyring and sign the new policy version:\n")

    class Literal(str):
        pass

    yaml.add_representer(Literal, lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|"), Dumper=yaml.SafeDumper)
    entry["public_keys"] = [Literal(public)]
    print(yaml.safe_dump({"keyring": [entry]}, sort_keys=False))
    return EXIT_OK


def policy_sign_handler(args: argparse.Namespace) -> int:
    from ..inventory import InventoryError
    from ..trust.keyring import GOVERNANCE_OWNER
    from ..trust.ledger import LedgerError
    from .policy import Policy
    from .policy_trust import PAYLOAD_TYPE, read_versions, sign_policy, verify_policy
    from .signing import SigningError, key_path, signer_for

    path = key_path(args.key)
    if path is None:
        return _fail("policy sign needs --key FILE (or $AISEC_SIGNING_KEY)", EXIT_USAGE)
    try:
        versions = read_versions(args.inventory)
        # A new version is signed under its own keyring and the previous one's: accept a key
        # either lists as a governance owner.
        from .policy import load_policy
        rings = [load_policy(args.inventory).people]
        if versions.records:
            rings.append(Policy.model_validate(versions.records[-1].policy).people)
        person, problem = None, None
        for ring in rings:
            try:
                signing, person = signer_for(path, ring, (GOVERNANCE_OWNER,))
                break
            except SigningError as exc:
                problem = exc
        if person is None:
            raise problem
        record, proposed = sign_policy(args.inventory, lambda r: signing(r, PAYLOAD_TYPE))
    except (InventoryError, LedgerError, SigningError) as exc:
        return _fail(str(exc))
    what = "proposed as version" if proposed else "co-signed version"
    trust = verify_policy(args.inventory, pinned_root="")
    state = "in force" if trust.trusted else "; ".join(trust.problems)
    print(f"{person.name} {what} {record.seq} of the policy (record hash {record.hash[:12]}): {state}")
    return EXIT_OK


def policy_verify_handler(args: argparse.Namespace) -> int:
    from .policy_trust import POLICY_LOG, verify_policy

    trust = verify_policy(args.inventory, pinned_root=args.root)
    if not trust.trusted:
        for problem in trust.problems:
            print(f"aisec: {problem}", file=sys.stderr)
        return EXIT_BLOCKED
    pinned = args.root or os.environ.get("AISEC_POLICY_ROOT")
    pin = "pinned" if pinned else "NOT pinned (set $AISEC_POLICY_ROOT to this root in the trusted CI)"
    print(f"{args.inventory / POLICY_LOG}: policy.yaml is signed version {trust.version} "
          f"(signed by {', '.join(trust.signers)}); root {trust.root} {pin}")
    for warning in trust.warnings:
        print(f"warning: {warning}")
    return EXIT_OK


def register(subparsers) -> None:
    key = subparsers.add_parser("key", help="people are keys: create a signing key")
    key_actions = key.add_subparsers(dest="key_action", required=True)
    generate = key_actions.add_parser("generate", help="write a new Ed25519 private key and print "
                                      "its keyring entry (passphrase: $AISEC_KEY_PASSPHRASE)")
    generate.add_argument("--out", type=Path, required=True, help="private key file to create")
    generate.add_argument("--name", required=True, help="the person's name (a label in reports)")
    generate.add_argument("--role", action="append", required=True,
                          choices=("card_reviewer", "committee_member", "incident_handler",
                                   "governance_owner", "gate", "model_owner"),
                          help="a role for the keyring entry (repeatable)")
    generate.set_defaults(handler=generate_handler)
    policy = subparsers.add_parser("policy", help="the governed policy: sign and verify its versions")
    actions = policy.add_subparsers(dest="policy_action", required=True)
    sign = actions.add_parser("sign", help="sign policy.yaml as it is (a governance owner)")
    sign.add_argument("--key", type=Path, metavar="FILE", help="default: $AISEC_SIGNING_KEY")
    _inventory(sign)
    sign.set_defaults(handler=policy_sign_handler)
    verify = actions.add_parser("verify", help="check the policy history and that policy.yaml is "
                                "its newest signed version")
    verify.add_argument("--root", metavar="SHA256", help="the pinned root record hash "
                        "(default: $AISEC_POLICY_ROOT)")
    _inventory(verify)
    verify.set_defaults(handler=policy_verify_handler)
