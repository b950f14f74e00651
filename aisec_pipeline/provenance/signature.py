"""Sign and verify a model's artifacts with model-signing (EC key, Sigstore bundle, in-toto).

The signed unit is the model's `artifacts/` folder. model-signing hashes every file under the
folder it is given, so an extra, missing or changed file fails verification. The committed
`.gitkeep` placeholder is the only path it ignores (its default git-file ignores are off). After the cryptographic check we also compare the signed manifest with the registry:
the signature must cover exactly the registry's artifacts with the registry's digests, and
nothing else may have been excluded from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SIGNED_FOLDER = "artifacts"
IGNORED_IN_SIGNED_FOLDER = (".gitkeep",)


class SignatureError(Exception):
    """The signature does not verify, or does not cover exactly the registry's artifacts."""


@dataclass(frozen=True)
class SignedManifest:
    """What a verified bundle vouches for: artifact path (relative to the model) -> sha256."""

    digests: dict[str, str]
    ignored: tuple[str, ...]


def _hashing_config():
    from model_signing import hashing

    # ignore_git_paths=False: a stray .gitignore or .git/ inside artifacts/ must fail too.
    return hashing.Config().use_file_serialization(hashing_algorithm="sha256").set_ignored_paths(
        paths=IGNORED_IN_SIGNED_FOLDER, ignore_git_paths=False)


def sign_artifacts(model_folder: Path, private_key_pem_path: Path, bundle_out: Path) -> None:
    """Sign `<model_folder>/artifacts/` with an EC private key; write the Sigstore bundle."""
    from model_signing import signing

    signed_folder = Path(model_folder) / SIGNED_FOLDER
    if not signed_folder.is_dir():
        raise SignatureError(f"{signed_folder}: nothing to sign (folder missing)")
    bundle_out = Path(bundle_out)
    bundle_out.parent.mkdir(parents=True, exist_ok=True)
    (signing.Config().use_elliptic_key_signer(private_key=private_key_pem_path)
     .set_hashing_config(_hashing_config()).sign(signed_folder, bundle_out))


def key_fingerprint(public_key_pem_path: Path) -> str:
    """`SHA256:<hex>` of the key's DER SubjectPublicKeyInfo (what `openssl pkey -pubin` hashes)."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(Path(public_key_pem_path).read_bytes())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def verify_artifacts(model_folder: Path, public_key_pem_path: Path, bundle_path: Path) -> SignedManifest:
    """Verify the bundle over `<model_folder>/artifacts/`; raise SignatureError with the cause."""
    from model_signing import verifying

    signed_folder = Path(model_folder) / SIGNED_FOLDER
    try:
        (verifying.Config().use_elliptic_key_verifier(public_key=public_key_pem_path)
         .set_hashing_config(_hashing_config()).verify(signed_folder, bundle_path))
        manifest = _verified_manifest(public_key_pem_path, bundle_path)
    except SignatureError:
        raise
    except Exception as exc:  # noqa: BLE001 - model-signing raises ValueError, OSError, protobuf and crypto errors
        raise SignatureError(f"{type(exc).__name__}: {exc}".strip()) from None
    return manifest


def _verified_manifest(public_key_pem_path: Path, bundle_path: Path) -> SignedManifest:
    """The manifest inside the bundle, read through model-signing's own key check."""
    from model_signing._signing import sign_ec_key, sign_sigstore_pb

    signature = sign_sigstore_pb.Signature.read(Path(bundle_path))
    manifest = sign_ec_key.Verifier(Path(public_key_pem_path)).verify(signature)
    digests = {}
    for descriptor in manifest.resource_descriptors():
        if descriptor.digest.algorithm != "sha256":
            raise SignatureError(f"signed digest of {descriptor.identifier} uses "
                                 f"{descriptor.digest.algorithm}, expected sha256")
        relative = str(PurePosixPath(SIGNED_FOLDER) / descriptor.identifier)
        digests[relative] = descriptor.digest.digest_hex
    ignored = tuple(sorted(str(p) for p in manifest.serialization_type.get("ignore_paths", ())))
    return SignedManifest(digests, ignored)


def compare_with_registry(signed: SignedManifest, registry: dict[str, str]) -> list[str]:
    """Problems that make a cryptographically valid signature cover the wrong thing."""
    problems = []
    unexpected_ignores = sorted(set(signed.ignored) - set(IGNORED_IN_SIGNED_FOLDER))
    if unexpected_ignores:
        problems.append(f"signature excludes path(s) from signing: {', '.join(unexpected_ignores)}")
    for path in sorted(set(registry) - set(signed.digests)):
        problems.append(f"registry artifact {path} is not covered by the signature")
    for path in sorted(set(signed.digests) - set(registry)):
        problems.append(f"signature covers {path}, which the registry does not list")
    for path in sorted(set(registry) & set(signed.digests)):
        if registry[path] != signed.digests[path]:
            problems.append(f"signed digest of {path} differs from the registry's sha256")
    return problems
