"""`aisec card validate CARD [--entry MODEL_YAML] [--json FILE] [--published]` and
`aisec card review MODEL --by NAME --decision approve|changes-requested --note TEXT`.

validate: exit 0 valid; 1 invalid (every problem printed, one per line); 2 usage or unusable input.
review: exit 0 recorded; 1 refused (owner reviewing their own card, not a named person, log
broken); 2 usage (unknown model, no card).
Only the standard library is imported at module level: the CLI must start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    review = actions.add_parser("review", help="record a named person's review of the card's exact bytes")
    review.add_argument("model", help="the model whose card (as it is now) was reviewed")
    review.add_argument("--by", required=True, metavar="NAME", help="the reviewer: a named person, not the card's owner")
    review.add_argument("--decision", required=True, choices=("approve", "changes-requested"))
    review.add_argument("--note", required=True, help="what was checked, or what must change")
    review.add_argument("--inventory", type=Path, default=None,
                        help="inventory folder (default: $AISEC_INVENTORY or ./assets)")
    review.set_defaults(handler=run_review)


def run_review(args: argparse.Namespace) -> int:
    from ..governance.ledger import LedgerError
    from ..inventory import InventoryError, default_inventory_root
    from ..inventory.loader import MODELS_DIR, load_model
    from .parse import parse_card
    from .review import REVIEW_FILE, record_review

    root = args.inventory.resolve() if args.inventory else default_inventory_root()
    try:
        model = load_model(root / MODELS_DIR / args.model)
    except InventoryError as exc:
        print(f"aisec: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    parsed = parse_card(model.path(model.entry.card))
    if parsed.sha256 is None:
        print(f"aisec: {'; '.join(parsed.problems)}", file=sys.stderr)
        return 2
    owner = (parsed.header or {}).get("owner")
    try:
        review = record_review(root / REVIEW_FILE, model=model.name, card_sha256=parsed.sha256,
                               artifact_sha256=model.entry.digest, decision=args.decision,
                               reviewer=args.by, note=args.note,
                               owner=owner.get("name") if isinstance(owner, dict) else None)
    except LedgerError as exc:
        print(f"aisec: {exc}", file=sys.stderr)
        return 1
    print(f"recorded {review.decision} of {model.name}'s card (sha256 {review.card_sha256}) by "
          f"{review.reviewer} as review {review.seq}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from .validate import validate_card

    entry_path = args.entry or _entry_next_to(args.card)
    try:
        entry = _load_entry(entry_path) if entry_path else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = validate_card(args.card, entry, published=args.published)
    if args.json and not _write_json(args.json, result.to_dict()):
        return 2
    _print_result(result, entry_path)
    return 0 if result.valid else 1


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
        print(f"error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
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
