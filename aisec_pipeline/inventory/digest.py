"""The one digest that identifies a model's exact artifacts.

Committee decisions, evidence and the AI bill of materials are all bound to it. One artifact:
its own sha256, so a person can check it with any sha256 tool. Several artifacts: the sha256
of a `sha256sum`-style manifest ("<sha256>  <path>" lines, sorted by path), so renaming,
swapping, adding or removing a file changes the digest as surely as changing its bytes.
"""

from __future__ import annotations

import hashlib
from typing import Mapping


def model_digest(sha256s: Mapping[str, str]) -> str:
    """`sha256s`: artifact path (relative to the model folder) -> its sha256 (lowercase hex)."""
    if not sha256s:
        raise ValueError("a model digest needs at least one artifact")
    if len(sha256s) == 1:
        return next(iter(sha256s.values()))
    manifest = "".join(f"{sha256s[path]}  {path}\n" for path in sorted(sha256s))
    return hashlib.sha256(manifest.encode("utf-8")).hexdigest()
