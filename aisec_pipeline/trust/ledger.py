"""Append-only, tamper-evident JSON Lines files (the committee register, the incident log).

Line N holds one JSON record with `seq` = N, `prev_hash` = the previous record's `hash`
(64 zeros for the first) and `hash` = sha256 over the canonical JSON of the record without
`hash` and `signatures`. Editing, removing, inserting or reordering a line, or a line that is
not valid JSON, breaks the chain at that line. Recomputing the chain after an edit is caught by
the signatures: each signed record signs its `seq` and `prev_hash`, so it vouches for all the
history before it (trust/statements.py), and a signature by a keyring key that no longer
verifies marks the ledger tampered. `signatures` sit outside the hash so that more people can
co-sign a record after it was appended. Removing lines from the end leaves a valid shorter
chain: the gate remembers every restriction and the last signed head it has seen (see
docs/governance.md), so a removed block or incident lifts nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Mapping, TypeVar

from pydantic import ValidationError

from ..inventory.schema import Strict
from .statements import UNSIGNED_FIELDS, Verification, canonical_json, verify

GENESIS = "0" * 64
T = TypeVar("T")


class LedgerError(Exception):
    """The ledger cannot be appended to; the message says why and what to do."""


@dataclass(frozen=True)
class Chain(Generic[T]):
    """The records that verified, and the first problem found (None when the chain is intact)."""

    path: Path
    records: tuple[T, ...]
    raw: tuple[dict[str, Any], ...]
    problem: str | None = None  # "line N: what is wrong"

    @property
    def intact(self) -> bool:
        return self.problem is None

    @property
    def head(self) -> str:
        return self.raw[-1]["hash"] if self.raw else GENESIS


def record_hash(record: dict[str, Any]) -> str:
    body = {key: value for key, value in record.items() if key not in UNSIGNED_FIELDS}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _parse_line(line: str, seq: int, prev_hash: str) -> dict[str, Any]:
    """The record on this line, or ValueError saying how the chain is broken."""
    if not line.strip():
        raise ValueError("empty line")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply to be a record") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if record.get("seq") != seq:
        raise ValueError(f"seq is {record.get('seq')!r}, expected {seq} (a line was removed, "
                         "inserted or reordered)")
    if record.get("prev_hash") != prev_hash:
        raise ValueError("prev_hash does not match the previous record (a line was removed, "
                         "inserted, reordered or edited)")
    if record.get("hash") != record_hash(record):
        raise ValueError("hash does not match the record's content (the line was edited)")
    return record


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: "
                         f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
    return str(exc)


def _verify_text(path: Path, text: str, parse: Callable[[dict], T]) -> Chain[T]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records: list[T] = []
    raw: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            record = _parse_line(line, number, raw[-1]["hash"] if raw else GENESIS)
            records.append(parse(record))
        except (ValueError, ValidationError) as exc:
            return Chain(path, tuple(records), tuple(raw), f"line {number}: {_describe(exc)}")
        raw.append(record)
    return Chain(path, tuple(records), tuple(raw))


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""


def read_chain(path: Path, parse: Callable[[dict], T]) -> Chain[T]:
    """Verify the whole file. A missing file is an empty ledger; any other problem is reported,
    never raised: the caller blocks on `chain.problem`."""
    try:
        return _verify_text(path, _read_text(path), parse)
    except (OSError, UnicodeDecodeError) as exc:
        return Chain(path, (), (), f"line 1: cannot read the file: {exc}")


Sign = Callable[[dict[str, Any]], dict[str, str]]  # record content -> one DSSE signature


class SignatureEntry(Strict):
    """One DSSE signature object on a ledger record: the signing key's id, the signature (base64)."""

    keyid: str
    sig: str


def append_record(path: Path, build: Callable[[Chain[T]], dict[str, Any]],
                  parse: Callable[[dict], T], sign: Sign | None = None) -> T:
    """Append the record `build(chain)` returns, under an exclusive lock, after verifying the
    chain; refuses to extend a broken chain. With `sign`, the record carries that signature over
    its content, seq and prev_hash. Returns the parsed record as written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        chain = _verify_text(path, handle.read(), parse)
        if not chain.intact:
            raise LedgerError(f"{path}: refusing to append: tampered at {chain.problem}")
        try:
            record = {**build(chain), "seq": len(chain.raw) + 1, "prev_hash": chain.head}
            record["hash"] = record_hash(record)
            if sign is not None:
                record["signatures"] = [sign(record)]
            parsed = parse(record)
        except (ValueError, ValidationError) as exc:
            raise LedgerError(f"{path}: refused: {_describe(exc)}") from None
        handle.write(canonical_json(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        return parsed


def add_signature(path: Path, seq: int, sign: Sign, parse: Callable[[dict], T]) -> T:
    """Co-sign record `seq`: its line gains one signature (the hash chain is unchanged, since
    signatures are outside it). Under the same lock as appends; refuses on a broken chain."""
    with open(path, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        chain = _verify_text(path, text, parse)
        if not chain.intact:
            raise LedgerError(f"{path}: refusing to sign: tampered at {chain.problem}")
        if not 1 <= seq <= len(chain.raw):
            raise LedgerError(f"{path}: there is no record {seq} (it holds {len(chain.raw)})")
        record = dict(chain.raw[seq - 1])
        signature = sign(record)
        others = [s for s in record.get("signatures") or [] if s.get("keyid") != signature["keyid"]]
        record["signatures"] = [*others, signature]
        lines = text.split("\n")
        lines[seq - 1] = canonical_json(record)
        handle.seek(0)
        handle.write("\n".join(lines))
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
        return parse(record)


@dataclass(frozen=True)
class Signed(Generic[T]):
    """A chain with every record's signatures checked against a keyring."""

    chain: Chain[T]
    checks: Mapping[str, Verification]  # record hash -> who verifiably signed it
    problem: str | None = None  # the chain's problem, or a signature that no longer verifies

    @property
    def intact(self) -> bool:
        return self.problem is None

    def signers(self, record_hash_: str) -> Verification:
        return self.checks.get(record_hash_, Verification())


def verify_signatures(chain: Chain[T], payload_type: str, keyring) -> Signed[T]:
    """Check each record's signatures. A signature by a keyring key that does not verify means
    the record, or the history it signed (`prev_hash`), changed after signing: the ledger is
    tampered. Unknown keys only count as nothing."""
    checks, problem = {}, chain.problem
    for number, raw in enumerate(chain.raw, start=1):
        check = verify(raw, payload_type, keyring)
        checks[raw["hash"]] = check
        if check.invalid and problem is None:
            problem = (f"line {number}: the signature of {', '.join(check.invalid)} does not verify: "
                       "the record or the history before it was changed after it was signed")
    return Signed(chain, checks, problem)
