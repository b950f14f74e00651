"""Redact secrets from text shown in evidence: known values, the canary in any encoding, and
common credential shapes (API keys, bearer tokens, private keys)."""

from __future__ import annotations

import re
from typing import Iterable

from .canary import leaked

_CREDENTIALS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}"),
    re.compile(r"(?i)\b(api[_-]?key|secret|password|token)(\s*[:=]\s*)\S{6,}"),
]
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{12,}")
REDACTED = "[REDACTED]"
CANARY = "[CANARY]"


def redact(text: str, secrets: Iterable[str] = (), canary: str | None = None) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _CREDENTIALS:
        text = pattern.sub(REDACTED, text)
    if canary:
        text = _redact_canary(text, canary)
    return text


def _redact_canary(text: str, canary: str) -> str:
    text = re.sub(re.escape(canary), CANARY, text, flags=re.I)
    text = _TOKEN.sub(lambda m: CANARY if leaked(m.group(0), canary) else m.group(0), text)
    if leaked(text, canary):  # spread out in a way no single token shows (e.g. spaced)
        return f"{CANARY} (answer withheld: it spells out the canary)"
    return text


def excerpt(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
