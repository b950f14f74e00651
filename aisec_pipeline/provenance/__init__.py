"""Supply-chain provenance: artifact checksums, source allowlist, model-signing signatures.

Loaded lazily (PEP 562): `aisec` builds its parser from every subcommand, and this package's
validation pulls in pydantic and the policy schema.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "check_provenance": "check", "sha256_file": "digest", "SignatureError": "signature",
    "key_fingerprint": "signature", "sign_artifacts": "signature", "verify_artifacts": "signature",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
