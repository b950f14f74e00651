"""Signing from the command line: a person's private key, checked against the keyring first.

The key file comes from `--key FILE` or `$AISEC_SIGNING_KEY`; an encrypted key's passphrase from
`$AISEC_KEY_PASSPHRASE`. A key the policy's keyring does not list for the needed role is refused
before anything is written: the gate would count its signature as nothing anyway.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..trust.keyring import Keyring, Person
from ..trust.keys import KeyFileError, load_signer
from ..trust.statements import sign

KEY_ENV = "AISEC_SIGNING_KEY"


class SigningError(Exception):
    """The key cannot sign this record; the message says why."""


def key_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    from_env = os.environ.get(KEY_ENV)
    return Path(from_env) if from_env else None


def signer_for(path: Path, keyring: Keyring, roles: tuple[str, ...]) -> tuple[Callable, Person]:
    """(sign(content, payload_type) -> signature, the person the keyring says holds the key)."""
    signer, person = keyring_signer(path, keyring, roles)
    return (lambda content, payload_type: sign(content, payload_type, signer)), person


def keyring_signer(path: Path, keyring: Keyring, roles: tuple[str, ...]):
    """(the key file's securesystemslib signer, the person the keyring lists it for with one of
    `roles`); raises SigningError, naming why, for a key it does not list so."""
    try:
        signer = load_signer(path)
    except KeyFileError as exc:
        raise SigningError(str(exc)) from None
    person = keyring.by_keyid(signer.public_key.keyid)
    if person is None:
        raise SigningError(f"{path}: this key is not in the policy's keyring (keyid "
                           f"{signer.public_key.keyid[:16]}); a governance owner adds it with its "
                           "person and roles, and signs the new policy version")
    if roles and not person.has(*roles):
        raise SigningError(f"{path}: the keyring lists this key for {person.name} with roles "
                           f"{', '.join(person.roles)}; this needs one of: {', '.join(roles)}")
    return signer, person


def record_signer(given: Path | None, keyring: Keyring, roles: tuple[str, ...], payload_type: str,
                  required: bool, what: str):
    """(sign(record) -> signature or None, person or None) for a ledger append."""
    path = key_path(given)
    if path is None:
        if required:
            raise SigningError(f"{what} is a permission: it needs a signature (--key FILE or "
                               f"${KEY_ENV}) by a keyring person with role {' or '.join(roles)}")
        return None, None
    signing, person = signer_for(path, keyring, roles)
    return (lambda record: signing(record, payload_type)), person
