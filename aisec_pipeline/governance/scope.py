"""Which lines of the governance ledgers concern which model, so that a sensor re-gates exactly
the models a ledger edit concerns: a committee record, an incident event or a card review about
model A re-gates A, not every model. A line that names no model (or cannot be parsed) concerns
every model, and so does any edit to it. Incident events after the opening one name only their
incident: they belong to the model the incident was opened for.

This decides only *when* a decision is re-made; the decision itself always reads and verifies
the whole ledgers (a rewritten line of another model breaks the chain for everyone there).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Callable

EVERY_MODEL = ""  # the scope of lines that name no model
MISSING = "missing"


def line_scopes(data: bytes) -> dict[str, str]:
    """Per model named by a line, the sha256 of its lines in order; EVERY_MODEL: the others."""
    lines: dict[str, list[bytes]] = {}
    incidents: dict[str, str] = {}
    for line in data.splitlines():
        if line.strip():
            lines.setdefault(_model_of(line, incidents), []).append(line)
    return {model: hashlib.sha256(b"\n".join(found)).hexdigest() for model, found in lines.items()}


def _model_of(line: bytes, incidents: dict[str, str]) -> str:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return EVERY_MODEL
    if not isinstance(record, dict):
        return EVERY_MODEL
    model, incident = record.get("model"), record.get("incident_id")
    if isinstance(model, str) and model:
        if isinstance(incident, str):
            incidents.setdefault(incident, model)
        return model
    return incidents.get(incident, EVERY_MODEL) if isinstance(incident, str) else EVERY_MODEL


@functools.lru_cache(maxsize=32)
def _scopes_of_content(path: str, sha256: str) -> dict[str, str] | None:
    """The scopes of `path` if its content still has this sha256 (None: it moved meanwhile)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return {} if sha256 == MISSING else None
    return line_scopes(data) if hashlib.sha256(data).hexdigest() == sha256 else None


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return MISSING


def ledger_scope(root: Path, relative: Path, model: str,
                 sha256_of: Callable[[Path], str] = _sha256) -> str:
    """A digest of the lines of one governance ledger that concern `model` (its own and the
    lines concerning every model): the data version of the model's view of that ledger.
    `sha256_of`: how the file's content digest is read (a sensor's cache); each content is
    parsed once."""
    path = root / relative
    scopes = _scopes_of_content(str(path), sha256_of(path))
    if scopes is None:  # changed since its digest was read: read it again, now
        scopes = _scopes_of_content(str(path), _sha256(path))
    if scopes is None:  # still moving: a version no decision was made on, so it is gated again
        return "changing"
    own, shared = scopes.get(model, "-"), scopes.get(EVERY_MODEL, "-")
    return hashlib.sha256(f"{relative.as_posix()}:{own}:{shared}".encode()).hexdigest()
