"""Append-only, tamper-evident JSON Lines files (the committee register, the incident log).

Line N holds one JSON record with `seq` = N, `prev_hash` = the previous record's `hash`
(64 zeros for the first) and `hash` = sha256 over the canonical JSON of the record without
`hash`. Editing, removing, inserting or reordering a line, or a line that is not valid JSON,
breaks the chain at that line. Removing lines from the end leaves a valid shorter chain: the
gate does not rely on the file for that, it remembers every restriction it has seen (see
docs/governance.md), so a removed block or incident lifts nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from pydantic import ValidationError

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


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: dict[str, Any]) -> str:
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _parse_line(line: str, seq: int, prev_hash: str) -> dict[str, Any]:
    """The record on this line, or ValueError saying how the chain is broken."""
    if not line.strip():
        raise ValueError("empty line")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
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


def append_record(path: Path, build: Callable[[Chain[T]], dict[str, Any]],
                  parse: Callable[[dict], T]) -> T:
    """Append the record `build(chain)` returns, under an exclusive lock, after verifying the
    chain; refuses to extend a broken chain. Returns the parsed record as written."""
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
            parsed = parse(record)
        except (ValueError, ValidationError) as exc:
            raise LedgerError(f"{path}: refused: {_describe(exc)}") from None
        handle.write(canonical_json(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        return parsed
