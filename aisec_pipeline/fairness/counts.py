"""Confusion counts per finest cell: the one pass over the rows every metric is derived from.

A counts table has one row per combination of the segment columns (plus optional key
columns such as `day`) and integer columns tp, fp, tn, fn. Coarser segments, intersections,
time windows and stored history are all re-aggregations of it: rows are never read twice.

The pass first tallies rows per distinct (label value, prediction value, segment values),
chunk by chunk, and only then decides how label and prediction values code to 0/1, from
every value the file holds: the decision cannot differ between chunks. Rows without a label
or prediction are not measured but counted per reason (`attrs["excluded"]`), never dropped
silently. Segment values keep their own form: null is "(missing)", a literal "(missing)" is
shown quoted, and a whole float keeps no ".0" (an integer column with nulls reads as float).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Number
from pathlib import Path

import numpy as np
import pandas as pd

COUNT_COLUMNS = ("tp", "fp", "tn", "fn")
MISSING = "(missing)"
# Why a row was left out of the counts: (label missing, prediction missing) -> reason.
EXCLUSIONS = {(True, False): "no label", (False, True): "no prediction",
              (True, True): "no label and no prediction"}
KEY_SEPARATOR = " x "  # between the parts of an intersection's key: "sex=Female x age=<25"
_ROWS = "rows"
_MAX_LABEL_VALUES = 16  # more distinct values than this cannot be a binary column
_MERGE_ROWS = 1 << 22  # distinct combinations held from several batches before they are merged
_MAX_CELL = 1 << 62  # mixed-radix cell numbers are renumbered densely before they overflow
_TRUE_TEXT, _FALSE_TEXT = {"1", "true"}, {"0", "false"}


class DataError(ValueError):
    """Input data cannot be measured: a missing column, a value outside {0, 1}, a segment
    value that would read as another segment. The message names the column."""


def check_roles(label: str, prediction: str, segments: Sequence[str]) -> None:
    """A column is the label, the prediction or a segment: never two of these."""
    if label == prediction:
        raise DataError(f"column {label!r} is named as both the label and the prediction")
    for role, column in (("label", label), ("prediction", prediction)):
        if column in segments:
            raise DataError(f"column {column!r} is the {role}; it cannot also be a segment")


def cell_counts(frame: pd.DataFrame, label: str, prediction: str, segments: Sequence[str],
                keys: Sequence[str] = (), positive: str | None = None) -> pd.DataFrame:
    """TP/FP/TN/FN per combination of `keys` + `segments`. Rows whose label or prediction is
    null are left out (an outcome not yet known): their number per reason is in
    `attrs["excluded"]`, the total in `attrs["excluded_rows"]`."""
    columns = [*keys, *segments]
    check_roles(label, prediction, columns)
    missing = [c for c in dict.fromkeys([label, prediction, *columns]) if c not in frame.columns]
    if missing:
        from .tables import describe_columns

        raise DataError(f"column(s) not found: {', '.join(map(repr, missing))}; "
                        f"the data has: {describe_columns(list(map(str, frame.columns)))}")
    return counts_from_tally(tally(frame, label, prediction, columns), label, prediction, columns, positive)


def count_file(path: str | Path, label: str, prediction: str, segments: Sequence[str],
               positive: str | None = None, chunk_rows: int | None = None,
               block_bytes: int | None = None) -> pd.DataFrame:
    """`cell_counts` over a Parquet/CSV file streamed as Arrow batches of only the needed columns
    (CSV: every column as the text written; a label "1.0" codes as 1, as a number would)."""
    from .tables import CHUNK_ROWS, CSV_BLOCK_BYTES, read_batches

    check_roles(label, prediction, segments)
    batches = read_batches(path, [label, prediction, *segments], chunk_rows=chunk_rows or CHUNK_ROWS,
                           block_bytes=block_bytes or CSV_BLOCK_BYTES)
    return counts_from_tally(tally_batches(batches, label, prediction, segments),
                             label, prediction, segments, positive)


# --- the tally: rows per distinct (label, prediction, segment labels) ---------------------------

def tally(frame: pd.DataFrame, label: str, prediction: str, columns: Sequence[str]) -> pd.DataFrame:
    """Rows per distinct combination: label and prediction as raw values (null kept), segment
    columns as their display labels. One vectorised pass over the rows."""
    encoded = [_raw_codes(frame[label], label), _raw_codes(frame[prediction], prediction)]
    encoded += [_segment_codes(frame[c], c, columns) for c in columns]
    representative, rows = _group(encoded, len(frame))
    result = pd.DataFrame({name: pd.Series(values, dtype=object)[codes[representative]].to_numpy()
                           for name, (codes, values) in zip([label, prediction, *columns], encoded)})
    result[_ROWS] = rows
    return result


def tally_batches(batches: Iterable, label: str, prediction: str, columns: Sequence[str]) -> pd.DataFrame:
    """`tally` over Arrow record batches: each batch's values get codes shared by the whole file,
    each batch is grouped on its own, and the groups are merged by summing their rows (also
    along the way, so that memory follows the distinct combinations, not the batches)."""
    names = [label, prediction, *columns]
    encoders = [_Encoder(label, None), _Encoder(prediction, None), *(_Encoder(c, columns) for c in columns)]
    merged = (np.empty((0, len(names)), dtype=np.int64), np.empty(0, dtype=np.int64))
    pending: list[tuple[np.ndarray, np.ndarray]] = []
    for batch in batches:
        encoded = [encoder.encode(batch.column(name)) for encoder, name in zip(encoders, names)]
        pending.append(_distinct(encoded, [len(encoder.values) for encoder in encoders]))
        if sum(len(rows) for _, rows in pending) > _MERGE_ROWS:
            merged, pending = _merge([merged, *pending], encoders), []
    codes, rows = _merge([merged, *pending], encoders)
    if not len(rows):
        return _empty_tally(names)
    result = pd.DataFrame({name: pd.Series(encoder.values, dtype=object)[codes[:, i]].to_numpy()
                           for i, (name, encoder) in enumerate(zip(names, encoders))})
    result[_ROWS] = rows
    return result


def _merge(parts: Sequence[tuple[np.ndarray, np.ndarray]], encoders) -> tuple[np.ndarray, np.ndarray]:
    """Code rows with their row counts, summed per distinct combination."""
    stacked = np.concatenate([codes for codes, _ in parts])
    weights = np.concatenate([rows for _, rows in parts])
    if not len(weights):
        return stacked, weights
    return _distinct([stacked[:, i] for i in range(stacked.shape[1])], [len(e.values) for e in encoders], weights)


def _distinct(codes: Sequence[np.ndarray], sizes: Sequence[int],
              weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(one row of codes per distinct combination, its row count or summed weight). When the
    combinations fit a dense table, the occupied cells are decoded from their number (no
    scatter of row positions); otherwise `_group` finds them."""
    n_rows = len(codes[0])
    if math.prod(sizes) > max(1 << 16, 4 * n_rows):
        representative, rows = _group(list(zip(codes, [range(size) for size in sizes])), n_rows, weights)
        return np.stack([column[representative] for column in codes], axis=1), rows
    cell = np.zeros(n_rows, dtype=np.int64)
    for column, size in zip(codes, sizes):
        cell = cell * size + column
    rows = _summed(cell, weights, math.prod(sizes))
    occupied = np.flatnonzero(rows)
    decoded, rest = [], occupied
    for size in reversed(sizes):
        rest, code = np.divmod(rest, size)
        decoded.append(code)
    return np.stack(decoded[::-1], axis=1), rows[occupied]


class _Encoder:
    """File-wide codes for one column's values, batch by batch: raw values (label, prediction;
    `columns` None) or segment display labels. Null has its own code, like any value."""

    def __init__(self, column: str, columns: Sequence[str] | None):
        self.column, self.columns = column, columns
        self.values: list = []
        self._codes: dict = {}

    def encode(self, array) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa.types.is_dictionary(array.type):
            array = pc.dictionary_encode(array)
        local = array.dictionary.to_pylist()
        mapping = np.array([self._code(value) for value in local] + [self._code(None)], dtype=np.int64)
        return mapping[pc.fill_null(array.indices, len(local)).to_numpy(zero_copy_only=False)]

    def _code(self, value) -> int:
        key = (None if _is_null(value) else value) if self.columns is None else segment_label(value)
        code = self._codes.get(key)
        if code is None:
            code = self._codes[key] = len(self.values)
            self.values.append(key)
            self._check(key)
        return code

    def _check(self, key) -> None:
        if self.columns is not None:
            _refuse_key_syntax(self.column, [key], self.columns)
        elif len([v for v in self.values if v is not None]) > _MAX_LABEL_VALUES:
            raise DataError(f"column {self.column!r} must be binary; it has more than {_MAX_LABEL_VALUES} "
                            f"distinct values, e.g. {_examples(v for v in self.values if v is not None)}")


def _empty_tally(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({**{c: pd.Series(dtype=object) for c in columns}, _ROWS: pd.Series(dtype=np.int64)})


def _raw_codes(series: pd.Series, column: str) -> tuple[np.ndarray, list]:
    """Codes of the raw values, null last (code len(values)). Refuses more values than a
    binary column can have, before any further work."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = list(np.asarray(uniques, dtype=object))
    if len(values) > _MAX_LABEL_VALUES:
        raise DataError(f"column {column!r} must be binary; it has more than {_MAX_LABEL_VALUES} distinct "
                        f"values, e.g. {_examples(values)}")
    return _null_last(codes, values, None)


def _segment_codes(series: pd.Series, column: str, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = [segment_label(value) for value in np.asarray(uniques, dtype=object)]
    _refuse_key_syntax(column, labels, columns)
    return _null_last(codes, labels, MISSING)


def _null_last(codes: np.ndarray, values: list, null_value) -> tuple[np.ndarray, list]:
    codes = codes.astype(np.int64, copy=False)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(values), codes)
    return codes, [*values, null_value]


def segment_label(value) -> str:
    """How a segment value is shown in keys, tables and the counts: its own form."""
    if _is_null(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value)
    return f'"{text}"' if text == MISSING else text


def label_value(label: str) -> str | None:
    """The segment value a label stands for, for JSON: null for missing, the literal otherwise."""
    if label == MISSING:
        return None
    return MISSING if label == f'"{MISSING}"' else label


def _is_null(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _refuse_key_syntax(column: str, labels: Sequence[str], columns: Sequence[str]) -> None:
    """A value like "a x race=b" would read as an intersection in the segment key."""
    for label in labels:
        for other in columns:
            if f"{KEY_SEPARATOR}{other}=" in label:
                raise DataError(f"segment column {column!r} has the value {label!r}, which reads as an "
                                f"intersection with {other!r} in segment keys ('{KEY_SEPARATOR.strip()}' joins "
                                "the parts of an intersection): recode the value")


def _group(encoded: Sequence[tuple[np.ndarray, list]], n_rows: int,
           weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(a representative row, the row count) per distinct combination of the code columns; with
    `weights`, each row counts as its weight (merging groups already counted)."""
    cell, size = np.zeros(n_rows, dtype=np.int64), 1
    for codes, values in encoded:
        if size * len(values) >= _MAX_CELL:
            cell, uniques = pd.factorize(cell)
            size = len(uniques)
        cell = cell * len(values) + codes
        size *= len(values)
    if size <= max(1 << 16, 4 * n_rows):
        rows = _summed(cell, weights, size)
        occupied = np.flatnonzero(rows)
        representative = np.empty(size, dtype=np.int64)
        representative[cell] = np.arange(n_rows)
        return representative[occupied], rows[occupied]
    _, first, inverse = np.unique(cell, return_index=True, return_inverse=True)
    return first, _summed(inverse, weights, len(first))


def _summed(cell: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    if weights is None:
        return np.bincount(cell, minlength=size)
    return np.bincount(cell, weights=weights, minlength=size).astype(np.int64)  # exact below 2**53 rows


# --- from the tally to confusion counts ------------------------------------------------------------

def counts_from_tally(table: pd.DataFrame, label: str, prediction: str, columns: Sequence[str],
                      positive: str | None = None) -> pd.DataFrame:
    y_true = _bits(table[label], label, positive)
    y_pred = _bits(table[prediction], prediction, positive)
    rows = table[_ROWS].to_numpy(dtype=np.int64)
    no_label, no_prediction = y_true < 0, y_pred < 0
    excluded = {reason: int(rows[(no_label == label_missing) & (no_prediction == prediction_missing)].sum())
                for (label_missing, prediction_missing), reason in EXCLUSIONS.items()}
    keep = ~(no_label | no_prediction)
    outcome = (y_true * 2 + y_pred)[keep]  # 0 tn, 1 fp, 2 fn, 3 tp
    kept = table.loc[keep, list(columns)].reset_index(drop=True)
    for code, name in enumerate(("tn", "fp", "fn", "tp")):
        kept[name] = np.where(outcome == code, rows[keep], 0)
    if columns:
        result = kept.groupby(list(columns), sort=True)[list(COUNT_COLUMNS)].sum().reset_index()
    else:
        result = kept[list(COUNT_COLUMNS)].sum().to_frame().T
    result = result[[*columns, *COUNT_COLUMNS]].astype({c: np.int64 for c in COUNT_COLUMNS})
    result.attrs["excluded"] = {reason: n for reason, n in excluded.items() if n}
    result.attrs["excluded_rows"] = sum(excluded.values())
    return result


def _bits(values: pd.Series, column: str, positive: str | None) -> np.ndarray:
    """1, 0, or -1 (null) per tally row, by one decision over all the column's values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    coding = binary_coding(list(np.asarray(uniques, dtype=object)), column, positive)
    return np.append(np.asarray(coding, dtype=np.int8), np.int8(-1))[codes]


def binary_coding(values: Sequence, column: str, positive: str | None = None) -> list[int]:
    """0/1 per distinct non-null value. Accepted as they are: numbers 0/1, booleans, the text
    "0"/"1"/"true"/"false". With `positive`, a column holding that value codes it 1 and its
    one other value 0 (e.g. --positive yes for yes/no); a column without it must be 0/1."""
    if positive is not None and any(_text(v) == positive for v in values):
        others = sorted({_text(v) for v in values} - {positive})
        if len(others) > 1:
            raise DataError(f"column {column!r} has {len(others) + 1} values ({_examples(values)}): with "
                            f"--positive {positive!r} it may hold only that value and one other")
        return [int(_text(v) == positive) for v in values]
    coding = [_default_bit(v) for v in values]
    if None in coding:
        hint = (f"--positive {positive!r} does not occur in it" if positive is not None
                else "name the positive value with --positive VALUE (e.g. --positive yes)")
        raise DataError(f"column {column!r} must be binary (0/1 or true/false); found {_examples(values)}: {hint}")
    return coding


def _default_bit(value) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, Number):
        return int(value) if value in (0, 1) else None
    text = str(value).strip().lower()
    if text in _TRUE_TEXT or text in _FALSE_TEXT:
        return int(text in _TRUE_TEXT)
    number = _number(text)  # CSV text as written: "1.0" is the number 1, as pandas would parse it
    return int(number) if number in (0.0, 1.0) else None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _text(value) -> str:
    if isinstance(value, str) and (number := _number(value)) is not None and number.is_integer():
        value = number  # text of a whole number reads as the number would: "1.0" is 1
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _examples(values: Iterable) -> str:
    shown = sorted({repr(_text(v)) for v in values})
    return ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")


def aggregate(counts: pd.DataFrame, grouping: Sequence[str]) -> pd.DataFrame:
    """Sum a counts table up to the given columns (empty grouping: one overall row)."""
    if not grouping:
        return counts[list(COUNT_COLUMNS)].sum().to_frame().T.astype(np.int64)
    missing = [c for c in grouping if c not in counts.columns]
    if missing:
        raise DataError(f"counts table has no column(s) {missing}")
    summed = counts.groupby(list(grouping), sort=True, observed=True)[list(COUNT_COLUMNS)].sum()
    return summed.reset_index()
