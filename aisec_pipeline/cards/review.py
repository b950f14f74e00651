"""Human review of the exact card: `assets/reviews/card_reviews.jsonl`, a hash-chained ledger
with the committee register's guarantees (governance/ledger.py).

A review is bound to the sha256 of the card's bytes and to the model's artifact digest. The
reviewer is a named person (the card owners' rule) and not the card's owner. The gate needs, for
the card as it is now, the tier's number of standing approving reviews by distinct people (one
of them a committee member where the tier says so), none older than the tier allows, and no
requested change after them. A requested change is a restriction: once seen it binds even if its
line is removed (governance/memory.py); an approving review counts only while its line is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Literal

from pydantic import Field, field_validator

from ..governance.ledger import Chain, append_record, read_chain
from ..inventory.schema import NAME_PATTERN, SHA256_PATTERN, Strict
from .schema import named_person

REVIEW_FILE = Path("reviews") / "card_reviews.jsonl"
APPROVE, CHANGES = "approve", "changes-requested"


class CardReview(Strict):
    seq: int = Field(ge=1)
    model: str = Field(pattern=NAME_PATTERN)
    card_sha256: str = Field(pattern=SHA256_PATTERN)
    artifact_sha256: str = Field(pattern=SHA256_PATTERN)
    decision: Literal["approve", "changes-requested"]
    reviewer: str
    note: str = Field(min_length=1)
    recorded_at: datetime
    prev_hash: str = Field(pattern=SHA256_PATTERN)
    hash: str = Field(pattern=SHA256_PATTERN)

    @field_validator("reviewer")
    @classmethod
    def _a_named_person(cls, value: str) -> str:
        return named_person(value)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def reviewed_on(self) -> date:
        return self.recorded_at.date()


ReviewLog = Chain[CardReview]


@dataclass(frozen=True)
class ReviewRules:
    """The tier's demands (policy.yaml)."""

    required: int = 1
    valid_days: int = 180
    committee_member: bool = False


@dataclass(frozen=True)
class ReviewFinding:
    reasons: tuple[str, ...]  # empty: the card's review stands
    standing: tuple[CardReview, ...] = ()  # the approving reviews that count


def load_reviews(inventory_root: Path) -> ReviewLog:
    return read_chain(inventory_root / REVIEW_FILE, CardReview.model_validate)


def same_person(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def record_review(path: Path, *, model: str, card_sha256: str, artifact_sha256: str,
                  decision: str, reviewer: str, note: str, owner: str | None,
                  now: datetime | None = None) -> CardReview:
    """Append one review; raises LedgerError (nothing written) when it is invalid, the log is
    broken, or the reviewer is the card's owner."""
    from ..governance.ledger import LedgerError

    if owner and same_person(reviewer, owner):
        raise LedgerError(f"{path}: refused: reviewer: {reviewer!r} owns this card; a review must "
                          "be by someone else")
    now = now or datetime.now(timezone.utc)
    fields = {"model": model, "card_sha256": card_sha256, "artifact_sha256": artifact_sha256,
              "decision": decision, "reviewer": reviewer, "note": note,
              "recorded_at": now.isoformat()}
    return append_record(path, lambda chain: fields, CardReview.model_validate)


def _label(review: CardReview) -> str:
    return f"{review.reviewer} on {review.reviewed_on}"


def review_finding(log: ReviewLog, model: str, card_sha256: str, artifact_sha256: str,
                   owner: str | None, rules: ReviewRules, committee_members: Iterable[str],
                   today: date, remembered: Iterable[CardReview] = ()) -> ReviewFinding:
    """What the review log means for shipping this card (bytes) with this artifact on `today`."""
    if not log.intact:
        return ReviewFinding((f"model_card: card review log tampered at {log.problem}; every card needs its "
                              "reviews restored from version control",))
    present = {r.hash for r in log.records}
    lost = [r for r in remembered if r.decision == CHANGES and r.hash not in present]
    ours = sorted([*(r for r in log.records if r.model == model), *(r for r in lost if r.model == model)],
                  key=lambda r: r.recorded_at)
    exact = [r for r in ours if r.card_sha256 == card_sha256 and r.artifact_sha256 == artifact_sha256]
    blocking = _requested_changes(exact)
    if blocking is not None:
        gone = " [removed from the log; a removed line lifts nothing]" if blocking.hash not in present else ""
        return ReviewFinding((f"model_card: changes requested by {_label(blocking)}: {blocking.note.rstrip('.')}{gone}; "
                              "needs a new approving review after the change",))
    approvals = _standing_approvals(exact, owner, rules, today)
    reasons = _shortfall(approvals, ours, card_sha256, rules, committee_members, today, model)
    return ReviewFinding(tuple(reasons), tuple(approvals))


def _requested_changes(reviews: list[CardReview]) -> CardReview | None:
    """The latest requested change not followed by an approving review."""
    pending = None
    for review in reviews:
        if review.decision == CHANGES:
            pending = review
        elif review.decision == APPROVE:
            pending = None
    return pending


def _standing_approvals(reviews: list[CardReview], owner: str | None, rules: ReviewRules,
                        today: date) -> list[CardReview]:
    latest: dict[str, CardReview] = {}
    for review in reviews:
        if review.decision == APPROVE and not (owner and same_person(review.reviewer, owner)):
            latest[review.reviewer.casefold()] = review
    return [r for r in latest.values() if today < r.reviewed_on + timedelta(days=rules.valid_days)]


def _shortfall(approvals: list[CardReview], ours: list[CardReview], card_sha256: str,
               rules: ReviewRules, committee_members: Iterable[str], today: date,
               model: str) -> list[str]:
    how = (f"record one with `aisec card review {model} --by NAME --decision approve --note ...` "
           "(a named person other than the card's owner)")
    if not approvals:
        earlier = [r for r in ours if r.decision == APPROVE]
        if earlier and earlier[-1].card_sha256 != card_sha256:
            return [f"model_card: card changed since its review by {_label(earlier[-1])}: needs a new review; {how}"]
        if earlier:
            last = earlier[-1]
            return [f"model_card: card review by {_label(last)} expired after {rules.valid_days} days or was "
                    f"for another artifact: needs a new review; {how}"]
        return [f"model_card: card never reviewed: {how}"]
    reasons = []
    if len(approvals) < rules.required:
        reasons.append(f"model_card: card has {len(approvals)} of the {rules.required} reviews its tier requires "
                       f"(by {', '.join(r.reviewer for r in approvals)}); {how}")
    members = list(committee_members)
    if rules.committee_member and not any(same_person(r.reviewer, m) for r in approvals for m in members):
        reasons.append("model_card: its tier needs a review by a committee member "
                       f"({', '.join(members) or 'none listed in policy.yaml committee.members'})")
    return reasons
