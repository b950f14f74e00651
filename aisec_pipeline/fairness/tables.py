"""Read a tabular data file (Parquet, CSV or SQLite) by its content, failing closed.

The format is decided by the bytes, not the name: a `.parquet` that is not Parquet, a binary
blob named `.csv`, an empty file or an unparseable one all raise TableError with the reason.
CSV may be compressed (gzip, bzip2, xz, or zstd when the `zstandard` package is installed).
A header that names a used column twice is refused: pandas would silently rename the copy.
Large files are streamed as Arrow record batches of only the needed columns (`read_batches`),
parsed on a second thread while the caller counts the previous one, so memory stays bounded by
the batch, not the file.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import importlib.util
import io
import lzma
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

PARQUET_MAGIC = b"PAR1"
SQLITE_MAGIC = b"SQLite format 3\x00"
# Compressed CSV: magic bytes -> pandas' name for the compression.
COMPRESSION_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}
CHUNK_ROWS = 1 << 21
CSV_BLOCK_BYTES = 1 << 22  # Arrow's CSV reader parses blocks of this many bytes
# What reads as null in CSV text: pandas' default list, so both readers agree.
CSV_NULLS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
_PREFETCH = 2  # batches parsed ahead of the caller
_SNIFF = 8192
_LISTED_COLUMNS = 40


class TableError(ValueError):
    """A data file cannot be read as a table. The message names the file and the reason."""


@dataclass(frozen=True)
class TableFormat:
    kind: str  # "parquet", "sqlite" or "csv"
    compression: str | None = None  # CSV only: "gzip", "bz2", "xz" or "zstd"


def sniff_format(path: Path) -> str:
    """"parquet", "sqlite" or "csv"; raises TableError for anything else."""
    return sniff(path).kind


def sniff(path: Path) -> TableFormat:
    """The format and, for CSV, the compression, decided by content."""
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
        return TableFormat("parquet")
    if head.startswith(SQLITE_MAGIC):
        return TableFormat("sqlite")
    compression = next((name for magic, name in COMPRESSION_MAGIC.items() if head.startswith(magic)), None)
    if compression:
        head = _decompressed_head(path, compression)
    if b"\x00" in head or not _is_text(head):
        what = f"{compression}-compressed data that is not CSV text" if compression else \
            "not Parquet, SQLite or CSV text (binary content)"
        raise TableError(f"{path}: {what}")
    if not compression and path.suffix.lower() in (".parquet", ".pq", ".sqlite", ".db"):
        raise TableError(f"{path}: named {path.suffix} but the content is not that format")
    return TableFormat("csv", compression)


def _open_binary(path: Path, compression: str | None):
    if compression is None:
        return path.open("rb")
    if compression == "zstd":
        if importlib.util.find_spec("zstandard") is None:
            raise TableError(f"{path}: is zstd-compressed, and reading zstd needs the 'zstandard' package, "
                             "which is not installed: decompress it (zstd -d) or compress with gzip")
        import zstandard

        return zstandard.open(path, "rb")
    return {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[compression](path, "rb")


def _decompressed_head(path: Path, compression: str) -> bytes:
    try:
        with _open_binary(path, compression) as handle:
            return handle.read(_SNIFF)
    except TableError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt archives raise format-specific errors
        raise TableError(f"{path}: cannot decompress ({compression}): {_first_line(exc)}") from None


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a multi-byte character cut by the sniff window
    return True


def header(path: str | Path) -> list[str]:
    """The column names of a Parquet or CSV file, read without the rows."""
    path = Path(path)
    return _header(path, sniff(path))


def _header(path: Path, found: TableFormat) -> list[str]:
    if found.kind == "sqlite":
        raise TableError(f"{path}: is an SQLite database; name a table through the monitoring config")
    return _parquet_names(path) if found.kind == "parquet" else _csv_names(path, found.compression)


def _parquet_names(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises its own error types
        raise TableError(f"{path}: cannot parse as parquet: {_first_line(exc)}") from None


def _csv_names(path: Path, compression: str | None) -> list[str]:
    try:
        with _open_binary(path, compression) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            return next(csv.reader(text), [])
    except TableError:
        raise
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise TableError(f"{path}: cannot parse as csv: {_first_line(exc)}") from None


def _refuse_duplicates(path: Path, names: Sequence[str], used: Sequence[str] | None) -> None:
    """A used column whose name occurs twice would be read as one of the two, silently."""
    seen, twice = set(), []
    for name in names:
        if name in seen and name not in twice and (used is None or name in used):
            twice.append(name)
        seen.add(name)
    if twice:
        raise TableError(f"{path}: the header names column(s) {', '.join(map(repr, twice))} more than "
                         "once; rename the copies so each column has one meaning")


def require_columns(path: Path, names: Sequence[str], wanted: Sequence[str] | None) -> None:
    """TableError naming the missing or duplicated columns (all columns when `wanted` is None),
    listing those the file has."""
    _refuse_duplicates(path, names, wanted)
    if wanted is None:
        return
    missing = [c for c in dict.fromkeys(wanted) if c not in names]
    if missing:
        raise TableError(f"{path}: column(s) not found: {', '.join(map(repr, missing))}; "
                         f"the file has: {describe_columns(names)}")


def describe_columns(names: Sequence[str]) -> str:
    shown = ", ".join(map(repr, list(names)[:_LISTED_COLUMNS]))
    more = len(names) - _LISTED_COLUMNS
    return f"{shown} and {more} more" if more > 0 else (shown or "no columns")


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet or CSV file as a DataFrame (SQLite files: use production_log)."""
    path = Path(path)
    found = sniff(path)
    require_columns(path, _header(path, found), columns)
    try:
        if found.kind == "parquet":
            return pd.read_parquet(path, columns=columns)
        return pd.read_csv(path, usecols=columns, encoding="utf-8", compression=found.compression)
    except (ValueError, OSError, KeyError, ImportError, EOFError) as exc:
        raise TableError(f"{path}: cannot parse as {found.kind}: {_first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow and the CSV parser raise their own error types
        raise TableError(f"{path}: cannot parse as {found.kind}: {type(exc).__name__}: {_first_line(exc)}") from None


def read_batches(path: str | Path, columns: Sequence[str], chunk_rows: int = CHUNK_ROWS,
                 block_bytes: int = CSV_BLOCK_BYTES) -> Iterator:
    """Only `columns`, as Arrow record batches (Parquet: at most `chunk_rows` rows; CSV: blocks
    of `block_bytes`, every column as the text written, nulls as pandas reads them). Batches are
    parsed on a second thread while the caller works on the previous one. Missing columns are
    refused first, with the list of columns the file has."""
    path = Path(path)
    columns = list(dict.fromkeys(columns))
    found = sniff(path)
    require_columns(path, _header(path, found), columns)
    batches = _parquet_batches(path, columns, chunk_rows) if found.kind == "parquet" else \
        _csv_batches(path, columns, found.compression, block_bytes)
    try:
        yield from _prefetched(batches)
    except TableError:
        raise
    except Exception as exc:  # noqa: BLE001 - a bad row deep in the file: name the file and the parser's reason
        raise TableError(f"{path}: cannot parse as {found.kind}: {type(exc).__name__}: {_first_line(exc)}") from None


def _parquet_batches(path: Path, columns: list[str], chunk_rows: int) -> Iterator:
    """Text columns come as dictionary arrays (Parquet usually stores them so): counting needs
    their distinct values and codes, and decoding every string only to hash it again is 5x slower."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    text = [c for c in columns if pa.types.is_string(schema.field(c).type) or
            pa.types.is_large_string(schema.field(c).type) or pa.types.is_binary(schema.field(c).type)]
    with pq.ParquetFile(path, read_dictionary=text) as parquet:
        yield from parquet.iter_batches(batch_size=chunk_rows, columns=columns, use_threads=True)


def _csv_batches(path: Path, columns: list[str], compression: str | None, block_bytes: int) -> Iterator:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    text = pa.dictionary(pa.int32(), pa.string())  # hashed as it is parsed: counting needs the codes
    convert = pcsv.ConvertOptions(include_columns=columns, column_types={c: text for c in columns},
                                  null_values=list(CSV_NULLS), strings_can_be_null=True)
    options = dict(read_options=pcsv.ReadOptions(block_size=block_bytes, use_threads=False),
                   parse_options=pcsv.ParseOptions(newlines_in_values=True), convert_options=convert)
    with _arrow_stream(path, compression) as stream:
        yield from pcsv.open_csv(stream, **options)


def _arrow_stream(path: Path, compression: str | None):
    """Arrow decompresses gzip, bz2 and zstd itself when built with the codec; else Python does."""
    import pyarrow as pa

    arrow_name = {"gzip": "gzip", "bz2": "bz2", "zstd": "zstd"}.get(compression or "")
    if compression is None or (arrow_name and pa.Codec.is_available(arrow_name)):
        return pa.input_stream(str(path), compression=arrow_name)
    return pa.PythonFile(_open_binary(path, compression), mode="r")


def _prefetched(batches: Iterator, depth: int = _PREFETCH) -> Iterator:
    """The same items, produced on a daemon thread up to `depth` ahead (Arrow parses without the
    GIL, so parsing and counting overlap on two cores). An error is re-raised in the caller."""
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in batches:
                if stop.is_set():
                    return
                items.put((item, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            items.put((None, exc))
            return
        items.put((done, None))

    thread = threading.Thread(target=produce, name="aisec-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue, then let it end
            try:
                items.get(timeout=0.05)
            except queue.Empty:
                pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
