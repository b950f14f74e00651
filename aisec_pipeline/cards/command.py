"""`aisec card validate CARD [--entry MODEL_YAML] [--json FILE] [--published]` and
`aisec card review MODEL --key FILE --decision approve|changes-requested --note TEXT`.

validate: exit 0 valid; 1 invalid (every problem printed, one per line); 2 usage or unusable input.
review: exit 0 recorded; 1 refused (key not in the policy's keyring as a reviewer, owner
reviewing their own card, log broken); 2 usage (unknown model, no card).
Only the standard library is imported at module level: the CLI must start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..exits import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, fail

ENTRY_FILE = "model.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    card = subparsers.add_parser("card", help="model cards: validate the card format")
    actions = card.add_subparsers(dest="card_action", required=True)
    validate = actions.add_parser("validate", help="list every missing or bad field of a card")
    validate.add_argument("card", type=Path, help="the card file (card.md)")
    validate.add_argument("--entry", type=Path, metavar="MODEL_YAML",
                          help=f"registry entry to cross-check (default: {ENTRY_FILE} beside CARD)")
    validate.add_argument("--json", type=Path, metavar="FILE", help="also write the result as JSON")
    validate.add_argument("--published", action="store_true",
                          help="the card was written by the pipeline (last_evaluated expected)")
    validate.set_defaults(handler=run_validate)
    review = actions.add_parser("review", help="record a signed review of the card's exact bytes")
    review.add_argument("model", help="the model whose card (as it is now) was reviewed")
    review.add_argument("--key", type=Path, metavar="FILE",
                        help="the reviewer's private key (default: $AISEC_SIGNING_KEY); required to "
                             "approve; the keyring names the reviewer")
    review.add_argument("--by", metavar="NAME", help="the reviewer's name for an unsigned "
                        "changes-requested (default: the key's keyring name)")
    review.add_argument("--decision", required=True, choices=("approve", "changes-requested"))
    review.add_argument("--note", required=True, help="what was checked, or what must change")
    review.add_argument("--inventory", type=Path, default=None,
                        help="inventory folder (default: $AISEC_INVENTORY or ./assets)")
    review.set_defaults(handler=run_review)


def run_review(args: argparse.Namespace) -> int:
    from ..governance.policy import load_model_and_policy
    from ..inventory import InventoryError
    from .parse import owner_name, parse_card

    try:
        root, model, policy = load_model_and_policy(args.inventory, args.model)
    except InventoryError as exc:
        return fail(str(exc).splitlines()[0], EXIT_USAGE)
    parsed = parse_card(model.path(model.entry.card))
    if parsed.sha256 is None:
        return fail("; ".join(parsed.problems), EXIT_USAGE)
    return _record(args, root, policy, model, parsed.sha256, owner_name(parsed.header))


def _record(args, root: Path, policy, model, card_sha256: str, owner: str | None) -> int:
    from ..governance.signing import SigningError, record_signer
    from ..trust.keyring import CARD_REVIEWER, COMMITTEE_MEMBER
    from ..trust.ledger import LedgerError
    from .review import APPROVE, PAYLOAD_TYPE, REVIEW_FILE, CardUnderReview, record_review

    try:
        sign, person = record_signer(args.key, policy.people, (CARD_REVIEWER, COMMITTEE_MEMBER),
                                     PAYLOAD_TYPE, args.decision == APPROVE, "an approving card review")
        reviewer = person.name if person else args.by
        if reviewer is None:
            raise SigningError("name the reviewer with --by NAME, or sign with --key FILE")
        if person and owner and policy.people.by_name(owner) is person:
            raise LedgerError(f"{person.name} owns this card; a review must be by someone else")
        review = record_review(root / REVIEW_FILE, subject=policy.subject(model.entry),
                               card=CardUnderReview(card_sha256, owner), decision=args.decision,
                               reviewer=reviewer, note=args.note, sign=sign)
    except (LedgerError, SigningError) as exc:
        return fail(exc, EXIT_BLOCKED)
    signed = "signed" if person else "unsigned"
    print(f"recorded {review.decision} of {model.name}'s card (sha256 {review.card_sha256}) by "
          f"{review.reviewer} ({signed}) as review {review.seq}")
    return EXIT_OK


def run_validate(args: argparse.Namespace) -> int:
    from .validate import validate_card

    entry_path = args.entry or _entry_next_to(args.card)
    try:
        entry = _load_entry(entry_path) if entry_path else None
    except ValueError as exc:
        return fail(exc, EXIT_USAGE)
    result = validate_card(args.card, entry, published=args.published)
    if args.json and not _write_json(args.json, result.to_dict()):
        return EXIT_USAGE
    _print_result(result, entry_path)
    return EXIT_OK if result.valid else EXIT_BLOCKED


def _entry_next_to(card: Path) -> Path | None:
    candidate = card.parent / ENTRY_FILE
    return candidate if candidate.is_file() else None


def _load_entry(path: Path):  # -> RegistryEntry
    from pydantic import ValidationError

    from ..inventory.loader import InventoryError, describe_validation_error, read_yaml
    from ..inventory.schema import RegistryEntry

    try:
        return RegistryEntry.model_validate(read_yaml(path))
    except InventoryError as exc:
        raise ValueError(str(exc).replace("\n", "; ")) from None
    except ValidationError as exc:
        raise ValueError(describe_validation_error(path, exc).replace("\n", "; ")) from None


def _write_json(path: Path, data: dict) -> bool:
    try:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return True
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
        return False


def _print_result(result, entry_path: Path | None) -> None:  # result: CardValidation
    against = f" (checked against {entry_path})" if entry_path else " (no registry entry: "\
        "name/version not cross-checked)"
    if result.valid:
        header = result.card.header
        print(f"VALID {result.path}{against}: {header.model_name} {header.model_version}, "
              f"use cases: {', '.join(header.use_case_ids)}")
        return
    print(f"INVALID {result.path}{against}: {len(result.problems)} problem(s)")
    for problem in result.problems:
        print(f"  {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aisec")
    register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
