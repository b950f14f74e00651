"""Supply-chain provenance: artifact checksums, source allowlist, model-signing signatures.

Loaded lazily (PEP 562): `aisec` builds its parser from every subcommand, and this package's
validation pulls in pydantic and the policy schema.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_PUBLIC = {
    "check_provenance": "check", "sha256_file": "digest", "SignatureError": "signature",
    "key_fingerprint": "signature", "sign_artifacts": "signature", "verify_artifacts": "signature",
}
__all__, __getattr__ = lazy_exports(__name__, _PUBLIC)
