"""`aisec provenance [MODEL ...]`: supply-chain check of registered models, one line each.

Exits 1 when any model fails or the inventory is invalid (2 for usage errors); the core, and
with it cryptography and model-signing, is imported only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exits import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, fail


def register(subparsers) -> None:
    description = ("For each model: every registry artifact exists and matches its sha256, the "
                   "source is on the policy allowlist, and the model-signing bundle (required by "
                   "some tiers) verifies over exactly the registry's artifacts.")
    parser = subparsers.add_parser("provenance", description=description,
                                   help="verify artifact checksums, source allowlist and signatures")
    parser.add_argument("models", nargs="*", help="model names (default: all)")
    parser.add_argument("--inventory", type=Path, help="inventory root (default: $AISEC_INVENTORY or ./assets)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..governance.policy import load_policy
    from ..inventory import InventoryError, load_inventory, resolve_inventory
    from .check import check_provenance

    root = resolve_inventory(args.inventory)
    try:
        policy = load_policy(root)
        models = {m.name: m for m in load_inventory(root)}
    except InventoryError as exc:
        return fail(exc, EXIT_USAGE)
    unknown = [name for name in args.models if name not in models]
    if unknown:
        return fail(f"not in the inventory: {', '.join(unknown)}", EXIT_USAGE)
    failed = 0
    for name in args.models or sorted(models):
        model = models[name]
        verdict = check_provenance(model, policy, policy.tier_for(model.entry))
        signature = verdict.figures.get("signature", "unknown")
        print(f"{verdict.status.value.upper():10} {name} (signature: {signature})")
        for reason in verdict.reasons:
            print(f"    - {reason}")
        failed += not verdict.passed
    return EXIT_BLOCKED if failed else EXIT_OK
