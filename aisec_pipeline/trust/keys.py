"""Key files: create a person's Ed25519 key pair, load a private key to sign with.

Private keys are PEM PKCS#8 files (mode 0600), optionally encrypted with a passphrase read from
`$AISEC_KEY_PASSPHRASE` (never from the command line, never logged). Public keys are PEM
SubjectPublicKeyInfo text, as the policy's keyring holds them. The cryptography is pyca's;
signing and verification go through securesystemslib's DSSE (trust/statements.py).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

PASSPHRASE_ENV = "AISEC_KEY_PASSPHRASE"


class KeyFileError(Exception):
    """A key cannot be created, read or used; the message says why."""


def generate_key(path: Path) -> str:
    """Write a new Ed25519 private key to `path` (refusing to overwrite); return its public PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if path.exists():
        raise KeyFileError(f"{path}: already exists; refusing to overwrite a key")
    private = Ed25519PrivateKey.generate()
    passphrase = os.environ.get(PASSPHRASE_ENV)
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return public_pem(private.public_key())


def public_pem(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_signer(path: Path):
    """A securesystemslib CryptoSigner for the private key file at `path`."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the key file: {exc.strerror or exc}") from None
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        private = load_pem_private_key(data, passphrase.encode() if passphrase else None)
        return CryptoSigner(private)
    except (ValueError, TypeError) as exc:
        hint = f" (set ${PASSPHRASE_ENV} for an encrypted key)" if "encrypted" in str(exc) else ""
        raise KeyFileError(f"{path}: not a usable private key{hint}") from None


@lru_cache(maxsize=1024)
def public_key(pem: str):
    """The securesystemslib key for a PEM public key; ValueError when it is not one."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.signer import SSlibKey

    try:
        return SSlibKey.from_crypto(load_pem_public_key(pem.strip().encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a supported PEM public key ({exc})") from None
