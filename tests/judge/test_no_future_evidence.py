"""No evidence from the future: a verdict stamped later than now (beyond the stated clock skew)
is invalid for the decision and never reused, and the reason says so."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aisec_pipeline.clock import ALLOWED_SKEW
from aisec_pipeline.governance.decision import EVALUATED_AT, evidence_age_hours, evidence_problems
from aisec_pipeline.verdict import Status, Verdict

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)


def passed(evaluated_at: str) -> Verdict:
    return Verdict("artifact_scan", Status.PASSED, (), {EVALUATED_AT: evaluated_at})


def test_the_stated_skew_is_five_minutes():
    assert ALLOWED_SKEW == timedelta(minutes=5)


def test_evidence_stamped_in_2099_is_invalid_and_says_so():
    """The attack: `evaluated_at: 2099-...` never went stale (a negative age passed)."""
    problems = evidence_problems("artifact_scan", passed("2099-01-01T00:00:00+00:00"), 24, NOW)
    assert len(problems) == 1 and "from the future" in problems[0] and "5 min" in problems[0], problems
    assert evidence_age_hours(passed("2099-01-01T00:00:00+00:00"), NOW) is None


def test_a_clock_a_little_ahead_is_within_the_skew():
    ahead = (NOW + ALLOWED_SKEW - timedelta(seconds=1)).isoformat()
    assert evidence_problems("artifact_scan", passed(ahead), 24, NOW) == []
    assert evidence_age_hours(passed(ahead), NOW) == 0.0
    beyond = (NOW + ALLOWED_SKEW + timedelta(seconds=1)).isoformat()
    assert "from the future" in evidence_problems("artifact_scan", passed(beyond), 24, NOW)[0]


def test_a_time_without_a_zone_is_no_time():
    problems = evidence_problems("model_card", passed("2026-12-03T09:00:00"), 24, NOW)
    assert problems and "no evaluation time" in problems[0]


def test_stale_and_fresh_evidence_still_judged_by_age():
    assert evidence_problems("model_card", passed((NOW - timedelta(hours=1)).isoformat()), 24, NOW) == []
    stale = evidence_problems("model_card", passed((NOW - timedelta(hours=30)).isoformat()), 24, NOW)
    assert stale and "stale" in stale[0]


def test_evidence_from_the_future_is_never_reused():
    from aisec_pipeline.orchestration.evidence import reusable

    now = datetime.now(timezone.utc)
    assert reusable(passed(now.isoformat()), 24)
    assert not reusable(passed("2099-01-01T00:00:00+00:00"), 24)
    assert not reusable(passed((now + timedelta(hours=1)).isoformat()), 24)
