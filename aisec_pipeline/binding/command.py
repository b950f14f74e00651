"""`aisec evaluation bind MODEL --key FILE`: the card's owner signs the statement binding the
model's evaluation file (as it is now) to its artifact digest (`binding/statement.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exits import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluation = subparsers.add_parser("evaluation", help="evaluation data: bind it to the artifact")
    actions = evaluation.add_subparsers(dest="evaluation_action", required=True)
    bind = actions.add_parser("bind", help="sign the statement that this evaluation file holds the "
                              "predictions of this artifact (you must be the card's owner)")
    bind.add_argument("model", help="the model whose evaluation file (as it is now) is bound")
    bind.add_argument("--key", type=Path, metavar="FILE",
                      help="the card owner's private key (default: $AISEC_SIGNING_KEY)")
    bind.add_argument("--inventory", type=Path, default=None,
                      help="inventory folder (default: $AISEC_INVENTORY or ./assets)")
    bind.set_defaults(handler=run_bind)


def run_bind(args: argparse.Namespace) -> int:
    from ..governance.policy import load_model_and_policy
    from ..inventory import InventoryError

    try:
        _, model, policy = load_model_and_policy(args.inventory, args.model)
    except InventoryError as exc:
        return fail(str(exc).splitlines()[0], EXIT_USAGE)
    if model.entry.evaluation is None:
        return fail(f"{model.name}: the registry entry declares no evaluation data", EXIT_USAGE)
    return _sign(args.key, model, policy.people)


def _sign(given: Path | None, model, keyring) -> int:
    from ..governance.signing import SigningError, key_path, keyring_signer
    from .statement import SIGNER_ROLE, card_owner, write_statement

    path = key_path(given)
    if path is None:
        return fail("binding an evaluation is a permission: it needs the card owner's signature "
                    "(--key FILE or $AISEC_SIGNING_KEY)", EXIT_USAGE)
    try:
        signer, person = keyring_signer(path, keyring, (SIGNER_ROLE,))
        owner = card_owner(model, keyring)
        if owner is None or owner.name != person.name:
            raise SigningError(f"{person.name} does not own {model.name}'s card "
                               f"({owner.name if owner else 'no keyring person'} does): only the "
                               "card's owner can vouch for its predictions")
        written = write_statement(model, signer)
    except (SigningError, OSError) as exc:
        return fail(str(exc), EXIT_BLOCKED)
    print(f"{written}: {model.name}'s evaluation file bound to artifact digest {model.entry.digest} "
          f"by {person.name}")
    return EXIT_OK
