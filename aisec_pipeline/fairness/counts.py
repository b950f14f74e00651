"""Confusion counts per finest cell: the one pass over the rows every metric is derived from.

A counts table has one row per combination of the segment columns (plus optional key
columns such as `day`) and integer columns tp, fp, tn, fn. Coarser segments, intersections,
time windows and stored history are all re-aggregations of it: rows are never read twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

COUNT_COLUMNS = ("tp", "fp", "tn", "fn")
MISSING = "(missing)"
# Above this many possible cells, count only the cells that occur instead of a dense bincount.
_DENSE_LIMIT = 20_000_000


class DataError(ValueError):
    """Input data cannot be measured: a missing column or a value outside {0, 1}. Names both."""


def binary_codes(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(values as int8 with -1 for null, null mask); raises DataError on anything but 0/1."""
    if column not in frame.columns:
        raise DataError(f"column {column!r} not found (columns: {', '.join(map(str, frame.columns))})")
    series = frame[column]
    nulls = series.isna().to_numpy()
    present = series[~nulls]
    if present.dtype == bool:
        present = present.astype(np.int8)
    bad = ~present.isin([0, 1])
    if bad.any():
        examples = sorted({repr(v) for v in present[bad].unique()[:5].tolist()})
        raise DataError(f"column {column!r} must be binary 0/1; found {', '.join(examples)}")
    codes = np.full(len(series), -1, dtype=np.int8)
    codes[~nulls] = present.to_numpy().astype(np.int8)
    return codes, nulls


def segment_codes(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes and their string labels; nulls become the label MISSING."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(np.int64)
        labels = [str(c) for c in series.cat.categories]
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        labels = [str(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(MISSING)
    return codes, labels


def cell_counts(frame: pd.DataFrame, label: str, prediction: str,
                segments: Sequence[str], keys: Sequence[str] = ()) -> pd.DataFrame:
    """TP/FP/TN/FN per combination of `keys` + `segments`. Rows whose label or prediction is
    null are left out (an outcome not yet known); their number is in `attrs["excluded_rows"]`."""
    y_true, true_null = binary_codes(frame, label)
    y_pred, pred_null = binary_codes(frame, prediction)
    columns = [*keys, *segments]
    for column in columns:
        if column not in frame.columns:
            raise DataError(f"segment column {column!r} not found")
    keep = ~(true_null | pred_null)
    encoded = [segment_codes(frame[c]) for c in columns]
    sizes = [len(labels) for _, labels in encoded]
    cell = np.zeros(len(frame), dtype=np.int64)
    for (codes, _), size in zip(encoded, sizes):
        cell = cell * size + codes
    outcome = (y_true.astype(np.int64) * 2 + y_pred)  # 0 tn, 1 fp, 2 fn, 3 tp
    combined = (cell * 4 + outcome)[keep]
    table = _count_cells(combined, int(np.prod(sizes, dtype=np.int64)))
    result = _decode_cells(table, columns, encoded, sizes)
    result.attrs["excluded_rows"] = int((~keep).sum())
    return result


def _count_cells(combined: np.ndarray, n_cells: int) -> pd.DataFrame:
    """Rows: occupied cells; columns: tn, fp, fn, tp. Index: the cell number."""
    if n_cells * 4 <= _DENSE_LIMIT:
        counts = np.bincount(combined, minlength=n_cells * 4).reshape(n_cells, 4)
        cells = np.flatnonzero(counts.sum(axis=1))
        counts = counts[cells]
    else:
        unique, totals = np.unique(combined, return_counts=True)
        cells, inverse = np.unique(unique // 4, return_inverse=True)
        counts = np.zeros((len(cells), 4), dtype=np.int64)
        np.add.at(counts, (inverse, unique % 4), totals)
    return pd.DataFrame(counts, index=cells, columns=["tn", "fp", "fn", "tp"])


def _decode_cells(table: pd.DataFrame, columns: Sequence[str],
                  encoded: list[tuple[np.ndarray, list[str]]], sizes: list[int]) -> pd.DataFrame:
    remaining = table.index.to_numpy()
    decoded = {}
    for column, (_, labels), size in reversed(list(zip(columns, encoded, sizes))):
        decoded[column] = np.asarray(labels, dtype=object)[remaining % size]
        remaining = remaining // size
    result = pd.DataFrame({c: decoded[c] for c in columns})
    for name in COUNT_COLUMNS:
        result[name] = table[name].to_numpy().astype(np.int64)
    return result


def aggregate(counts: pd.DataFrame, grouping: Sequence[str]) -> pd.DataFrame:
    """Sum a counts table up to the given columns (empty grouping: one overall row)."""
    if not grouping:
        return counts[list(COUNT_COLUMNS)].sum().to_frame().T.astype(np.int64)
    missing = [c for c in grouping if c not in counts.columns]
    if missing:
        raise DataError(f"counts table has no column(s) {missing}")
    summed = counts.groupby(list(grouping), sort=True, observed=True)[list(COUNT_COLUMNS)].sum()
    return summed.reset_index()
