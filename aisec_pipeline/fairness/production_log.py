"""Read production prediction logs: a file in the model folder or a database behind a URL.

The log has one row per prediction: a timestamp, the prediction, the segment columns and the
label (null until the outcome arrives). Sources: a Parquet/CSV/SQLite file named in the
registry (`monitoring.log`), or any SQLAlchemy URL read from the environment variable the
registry names (`monitoring.url_env`). The URL may carry a password: it is never logged or
put in a message; errors name the variable instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..inventory.loader import InventoryError, confine
from ..inventory.schema import Monitoring
from .tables import TableError, read_table, sniff_format


class LogSourceError(ValueError):
    """The production log cannot be read. The message never contains a database URL."""


def read_production_log(monitoring: Monitoring, folder: Path | None, columns: Sequence[str],
                        since: datetime | None = None, environ: Mapping[str, str] = os.environ) -> pd.DataFrame:
    """Rows with `monitoring.timestamp` >= since (UTC), only the named columns plus the timestamp.
    The timestamp column comes back as UTC datetimes."""
    wanted = list(dict.fromkeys([monitoring.timestamp, *columns]))
    if monitoring.url_env:
        url = environ.get(monitoring.url_env)
        if not url:
            raise LogSourceError(f"environment variable {monitoring.url_env} (production log URL) is not set")
        frame = _read_sql(url, monitoring.table, wanted, monitoring.timestamp, since,
                          f"the database named by {monitoring.url_env}")
    elif monitoring.log and folder is not None:
        frame = _read_file(_confined(folder, monitoring.log), monitoring, wanted, since)
    else:
        raise LogSourceError("monitoring names neither a log file nor a URL variable")
    return _since(_parse_timestamps(frame, monitoring.timestamp), monitoring.timestamp, since)


def _confined(folder: Path, relative: str) -> Path:
    try:
        return confine(folder, relative)
    except InventoryError as exc:
        raise LogSourceError(str(exc)) from None


def _read_file(path: Path, monitoring: Monitoring, columns: list[str], since: datetime | None) -> pd.DataFrame:
    try:
        if sniff_format(path) == "sqlite":
            url = f"sqlite:///file:{path}?mode=ro&uri=true"
            return _read_sql(url, monitoring.table, columns, monitoring.timestamp, since, str(path))
        frame = read_table(path)
    except TableError as exc:
        raise LogSourceError(str(exc)) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LogSourceError(f"{path}: production log lacks column(s): {', '.join(missing)}")
    return frame[columns]


def _read_sql(url: str, table: str, columns: list[str], timestamp: str, since: datetime | None,
              described_as: str) -> pd.DataFrame:
    import sqlalchemy as sa

    # The database may store timestamps as text; this filter can only keep extra rows on the
    # boundary (ISO "T" sorts after " "), and the exact filter runs again in pandas.
    query = sa.select(*(sa.column(c) for c in columns)).select_from(sa.table(table))
    if since is not None:
        query = query.where(sa.column(timestamp) >= since.replace(tzinfo=None))
    try:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                return pd.read_sql(query, connection)
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - driver errors come in many types; none may leak the URL
        raise LogSourceError(f"cannot read table {table!r} from {described_as}: "
                             f"{type(exc).__name__}: {_scrub(str(exc).splitlines()[0] if str(exc) else '', url)}") from None


def _scrub(text: str, url: str) -> str:
    """Remove the URL and its password from a driver message."""
    try:
        import sqlalchemy as sa

        password = sa.engine.make_url(url).password
    except Exception:  # noqa: BLE001 - an unparseable URL has no password to scrub
        password = None
    for secret in (url, password):
        if secret:
            text = text.replace(str(secret), "***")
    return text


def _parse_timestamps(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    try:
        stamps = pd.to_datetime(frame[column], utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise LogSourceError(f"column {column!r} holds values that are not timestamps: {exc}") from None
    return frame.assign(**{column: stamps})


def _since(frame: pd.DataFrame, column: str, since: datetime | None) -> pd.DataFrame:
    if since is None:
        return frame.reset_index(drop=True)
    bound = pd.Timestamp(since)
    bound = bound.tz_localize("UTC") if bound.tzinfo is None else bound.tz_convert("UTC")
    return frame[frame[column] >= bound].reset_index(drop=True)
