"""Times the gate reads back from evidence: a time later than now is never evidence.

Every verdict, decision and observation carries an ISO 8601 time with a zone. A time more than
ALLOWED_SKEW after this machine's clock cannot have been measured yet: it is invalid wherever it
is read (a negative age must never pass a freshness check), and the reason says so. A time
without a zone is as good as none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

ALLOWED_SKEW = timedelta(minutes=5)  # clocks of the machines that share an instance may differ by this


def parse_stamp(value: Any) -> datetime | None:
    """An aware datetime from an ISO 8601 text (or datetime), else None."""
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


def age_hours(value: Any, now: datetime) -> float | None:
    """Hours from an ISO 8601 time to `now` (0 within the skew ahead); None when it has no zone,
    cannot be read or is from the future: such a time makes nothing fresh."""
    when = parse_stamp(value)
    if when is None or from_the_future(when, now):
        return None
    return max(0.0, (now - when).total_seconds() / 3600)


def from_the_future(when: datetime, now: datetime) -> str | None:
    """Why `when` is invalid as a time something was measured at, or None if it can be."""
    ahead = when - now
    if ahead <= ALLOWED_SKEW:
        return None
    return (f"stamped {when.isoformat()}, {ahead.total_seconds() / 3600:.1f} h after this "
            f"machine's clock ({now.isoformat(timespec='seconds')}): evidence from the future is "
            f"invalid (allowed clock skew {int(ALLOWED_SKEW.total_seconds() // 60)} min)")
