"""Supply-chain provenance: artifact checksums, source allowlist, model-signing signatures."""

from .check import check_provenance
from .digest import sha256_file
from .signature import SignatureError, key_fingerprint, sign_artifacts, verify_artifacts

__all__ = ["SignatureError", "check_provenance", "key_fingerprint", "sha256_file", "sign_artifacts",
           "verify_artifacts"]
