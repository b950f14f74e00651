"""Producer statements: the card's owner (a keyring model owner) signs "this evaluation file (sha256) holds the
predictions of this artifact (digest)", as a DSSE signature over canonical JSON (trust/statements).

Sign one:  aisec evaluation bind MODEL --key FILE   (or python -m aisec_pipeline.binding.statement
MODEL_FOLDER --key FILE). It writes the file the registry's `evaluation.statement` names (default: the data file's name
plus `.statement.json`) and prints its path.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..inventory import Model

PAYLOAD_TYPE = "application/vnd.aisec.evaluation-binding+json"
SIGNER_ROLE = "model_owner"
MAX_STATEMENT_BYTES = 64 * 1024
STATEMENT_SUFFIX = ".statement.json"


def statement_path(model: Model) -> Path:
    evaluation = model.entry.evaluation
    assert evaluation is not None
    return model.path(evaluation.statement or evaluation.data + STATEMENT_SUFFIX)


def sha256_of(path: Path) -> str:
    from ..provenance.digest import sha256_file

    return sha256_file(path)


def expected_content(model: Model, evaluation_sha256: str) -> dict[str, Any]:
    """What a statement must say for this model, artifact and evaluation file, field by field."""
    evaluation = model.entry.evaluation
    assert evaluation is not None
    return {"statement": "evaluation predictions bound to an artifact", "model": model.name,
            "version": model.entry.version, "artifact_digest": model.entry.digest,
            "evaluation_file": evaluation.data, "evaluation_sha256": evaluation_sha256,
            "prediction_column": evaluation.prediction,
            "predictions_from": evaluation.predictions_from}


@dataclass(frozen=True)
class Checked:
    signers: tuple[str, ...]  # keyring model owners whose signatures verify
    problems: tuple[str, ...]  # why the statement does not bind (empty when it does)


def check_statement(model: Model, keyring, evaluation_sha256: str) -> Checked:
    """Does the statement bind this evaluation file to this artifact? Never raises."""
    from ..trust.statements import verify

    path = statement_path(model)
    relative = path.relative_to(model.folder)
    if not path.is_file():
        return Checked((), (f"no signed statement binds the evaluation file to the artifact: "
                            f"{relative} is missing; the card's owner signs one with `aisec evaluation "
                            f"bind {model.name} --key FILE`",))
    try:
        if path.stat().st_size > MAX_STATEMENT_BYTES:
            raise ValueError(f"over {MAX_STATEMENT_BYTES} bytes")
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as exc:
        return Checked((), (f"{relative} is not a readable statement: {exc}",))
    expected = expected_content(model, evaluation_sha256)
    wrong = [f"{key} says {record.get(key)!r}, not {value!r}" for key, value in expected.items()
             if record.get(key) != value]
    extra = sorted(set(record) - set(expected) - {"signatures"})
    if wrong or extra:
        return Checked((), (f"{relative} does not bind this evaluation file to this artifact: "
                            + "; ".join(wrong + [f"unexpected field {k!r}" for k in extra]),))
    verification = verify(record, PAYLOAD_TYPE, keyring)
    owner = card_owner(model, keyring)
    signers = tuple(p.name for p in verification.with_role(SIGNER_ROLE) if owner and p.name == owner.name)
    if not signers:
        whose = f"the card's owner {owner.name}" if owner else "the card's owner (not a keyring person)"
        return Checked((), (f"{relative} is not signed by {whose} with a keyring {SIGNER_ROLE} key "
                            f"({verification.describe()}); another model's owner cannot vouch for "
                            "this model's predictions",))
    return Checked(signers, ())


def card_owner(model: Model, keyring):
    """The keyring person the card names as owner: the producer who may bind its evaluation."""
    from ..cards.parse import card_owner_name

    name = card_owner_name(model.path(model.entry.card))
    return keyring.by_name(name) if name else None


def write_statement(model: Model, signer) -> Path:
    """Sign the statement for the evaluation file as it is now (`signer`: a securesystemslib Signer)."""
    from ..trust.statements import sign

    evaluation = model.entry.evaluation
    assert evaluation is not None
    content = expected_content(model, sha256_of(model.path(evaluation.data)))
    record = {**content, "signatures": [sign(content, PAYLOAD_TYPE, signer)]}
    path = statement_path(model)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sign the statement binding a classifier's "
                                     "evaluation file to its artifact digest.")
    parser.add_argument("model_folder", type=Path)
    parser.add_argument("--key", type=Path, required=True, help="the producer's private key file")
    args = parser.parse_args(argv)
    from ..exits import EXIT_BLOCKED, EXIT_OK, fail
    from ..inventory import load_model
    from ..inventory.loader import InventoryError
    from ..trust.keys import KeyFileError, load_signer

    try:
        model = load_model(args.model_folder)
        if model.entry.evaluation is None:
            raise InventoryError(f"{args.model_folder}: the registry entry declares no evaluation data")
        print(write_statement(model, load_signer(args.key)))
    except (InventoryError, KeyFileError, OSError) as exc:
        return fail(str(exc), EXIT_BLOCKED)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
