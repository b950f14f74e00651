"""Read a tabular data file (Parquet, CSV or SQLite) by its content, failing closed.

The format is decided by the bytes, not the name: a `.parquet` that is not Parquet, a binary
blob named `.csv`, an empty file or an unparseable one all raise TableError with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PARQUET_MAGIC = b"PAR1"
SQLITE_MAGIC = b"SQLite format 3\x00"
_SNIFF = 8192


class TableError(ValueError):
    """A data file cannot be read as a table. The message names the file and the reason."""


def sniff_format(path: Path) -> str:
    """"parquet", "sqlite" or "csv"; raises TableError for anything else."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF)
            handle.seek(max(0, path.stat().st_size - 4))
            tail = handle.read(4)
    except OSError as exc:
        raise TableError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not head:
        raise TableError(f"{path}: file is empty")
    if head.startswith(PARQUET_MAGIC) and tail == PARQUET_MAGIC:
        return "parquet"
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if b"\x00" in head or not _is_text(head):
        raise TableError(f"{path}: not Parquet, SQLite or CSV text (binary content)")
    if path.suffix.lower() in (".parquet", ".pq", ".sqlite", ".db"):
        raise TableError(f"{path}: named {path.suffix} but the content is not that format")
    return "csv"


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a multi-byte character cut by the sniff window
    return True


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet or CSV file as a DataFrame (SQLite files: use production_log)."""
    path = Path(path)
    kind = sniff_format(path)
    if kind == "sqlite":
        raise TableError(f"{path}: is an SQLite database; name a table through the monitoring config")
    try:
        if kind == "parquet":
            return pd.read_parquet(path, columns=columns)
        return pd.read_csv(path, usecols=columns, encoding="utf-8")
    except (ValueError, OSError, KeyError, ImportError) as exc:
        raise TableError(f"{path}: cannot parse as {kind}: {_first_line(exc)}") from None
    except Exception as exc:  # pyarrow and the CSV parser raise their own error types
        raise TableError(f"{path}: cannot parse as {kind}: {type(exc).__name__}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
