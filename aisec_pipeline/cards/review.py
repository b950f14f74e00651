"""Human review of the exact card: `assets/reviews/card_reviews.jsonl`, a hash-chained ledger
with the committee register's guarantees (trust/ledger.py).

A review is bound to the sha256 of the card's bytes, the model's version, artifact digest and
risk classification, and the card's owner at the time. An approving review counts only when it
is signed by a key the policy's keyring lists for a card reviewer or committee member; the
signer is the reviewer (the typed name is a label). The gate needs, for the card as it is now,
the tier's number of standing approving reviews by distinct keyring people (one of them a
committee member where the tier says so), none by the card's owner or by anyone who owned the
card in its signed history, none older than the tier allows or dated in the future, and no
requested change after them. A requested change is a restriction: it binds unsigned, and once
seen it binds even if its line is removed (governance/memory.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from ..inventory.schema import NAME_PATTERN, SHA256_PATTERN, Strict
from ..trust.keyring import CARD_REVIEWER, COMMITTEE_MEMBER, Keyring, Person
from ..trust.ledger import Sign, SignatureEntry, Signed, append_record, read_chain, verify_signatures
from ..trust.subject import Classification, Subject, future_problem
from .schema import named_person

REVIEW_FILE = Path("reviews") / "card_reviews.jsonl"
APPROVE, CHANGES = "approve", "changes-requested"
PAYLOAD_TYPE = "application/vnd.aisec.card-review+json"



class CardReview(Strict):
    seq: int = Field(ge=1)
    model: str = Field(pattern=NAME_PATTERN)
    version: str | None = None
    card_sha256: str = Field(pattern=SHA256_PATTERN)
    artifact_sha256: str = Field(pattern=SHA256_PATTERN)
    classification: Classification | None = None
    owner: str | None = None  # the card's owner when it was reviewed
    decision: Literal["approve", "changes-requested"]
    reviewer: str
    note: str = Field(min_length=1)
    recorded_at: datetime
    prev_hash: str = Field(pattern=SHA256_PATTERN)
    hash: str = Field(pattern=SHA256_PATTERN)
    signatures: tuple[SignatureEntry, ...] = ()

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


ReviewLog = Signed[CardReview]


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
    signers: tuple[str, ...] = ()  # who verifiably signed them ("NAME on DATE")
    valid_until: date | None = None  # when it stands: the day its oldest counting approval ages out


@dataclass(frozen=True)
class CardUnderReview:
    """The card as it is now: its bytes' digest and the owner it names."""

    sha256: str
    owner: str | None


def load_reviews(inventory_root: Path, keyring: Keyring) -> ReviewLog:
    chain = read_chain(inventory_root / REVIEW_FILE, CardReview.model_validate)
    return verify_signatures(chain, PAYLOAD_TYPE, keyring)


def record_review(path: Path, *, subject: Subject, card: CardUnderReview, decision: str,
                  reviewer: str, note: str, sign: Sign | None = None,
                  now: datetime | None = None) -> CardReview:
    """Append one review of `card` for `subject`, signed by `sign` when given; raises
    LedgerError (nothing written) when it is invalid or the log is broken."""
    now = now or datetime.now(timezone.utc)
    fields = {"model": subject.model, "version": subject.version, "card_sha256": card.sha256,
              "artifact_sha256": subject.digest,
              "classification": subject.classification.model_dump(mode="json"),
              "owner": card.owner, "decision": decision, "reviewer": reviewer, "note": note,
              "recorded_at": now.isoformat()}
    return append_record(path, lambda chain: fields, CardReview.model_validate, sign)


def _label(review: CardReview, log: ReviewLog | None = None) -> str:
    signer = log.signers(review.hash).names if log is not None else ()
    return f"{', '.join(signer) or review.reviewer} on {review.reviewed_on}"


def review_finding(log: ReviewLog, subject: Subject, card: CardUnderReview, rules: ReviewRules,
                   keyring: Keyring, now: datetime, remembered=()) -> ReviewFinding:
    """What the review log means for shipping this card (bytes) with this subject at `now`."""
    if not log.intact:
        return ReviewFinding((f"model_card: card review log tampered at {log.problem}; every card needs its "
                              "reviews restored from version control",))
    present = {r.hash for r in log.chain.records}
    lost = [r for r in remembered if r.decision == CHANGES and r.hash not in present]
    ours = sorted([*(r for r in log.chain.records if r.model == subject.model),
                   *(r for r in lost if r.model == subject.model)], key=lambda r: r.seq)
    owner = keyring.by_name(card.owner) if card.owner else None
    if owner is None:
        return ReviewFinding((f"model_card: the card's owner {card.owner!r} is not a person in the "
                              "policy's keyring, so no review can be shown to be by someone else; "
                              "name a keyring person as owner",))
    excluded = _owners(log, ours, keyring) | {owner.name}
    judge = _Judge(log, subject, card, rules, excluded, now)
    exact = [r for r in ours if r.card_sha256 == card.sha256 and r.artifact_sha256 == subject.digest]
    blocking = judge.requested_changes(exact)
    if blocking is not None:
        gone = " [removed from the log; a removed line lifts nothing]" if blocking.hash not in present else ""
        return ReviewFinding((f"model_card: changes requested by {_label(blocking, log)}: "
                              f"{blocking.note.rstrip('.')}{gone}; needs a new signed approving "
                              "review after the change",))
    approvals, void = judge.standing(exact)
    reasons = _shortfall(approvals, void, ours, card.sha256, rules, subject.model)
    signers = tuple(f"{person.name} on {review.reviewed_on}" for person, review in approvals)
    standing = tuple(r for _, r in approvals)
    valid_until = (min(r.reviewed_on for r in standing) + timedelta(days=rules.valid_days)
                   if standing and not reasons else None)
    return ReviewFinding(tuple(reasons), standing, signers, valid_until)


def _owners(log: ReviewLog, reviews: list[CardReview], keyring: Keyring) -> set[str]:
    """Everyone named as the card's owner in its signed review history: an owner cannot approve
    their card by renaming its owner first."""
    named = {r.owner for r in reviews if r.owner and log.signers(r.hash).signers}
    return {p.name for p in (keyring.by_name(n) for n in named) if p is not None}


@dataclass(frozen=True)
class _Judge:
    log: ReviewLog
    subject: Subject
    card: CardUnderReview
    rules: ReviewRules
    excluded: set[str]
    now: datetime

    def problem(self, review: CardReview) -> str | None:
        """Why this approving review counts as nothing (None: it counts)."""
        check = self.log.signers(review.hash)
        people = [p for p in check.with_role(CARD_REVIEWER, COMMITTEE_MEMBER) if p.name not in self.excluded]
        if not people:
            owners = [p.name for p in check.signers if p.name in self.excluded]
            if owners:
                return f"it is signed by {', '.join(owners)}, who owns or owned this card"
            return (f"it is not signed by a card reviewer or committee member in the policy's "
                    f"keyring ({check.describe()}); a typed name proves nothing")
        return future_problem(review.recorded_at, self.now) or self.subject.mismatch(
            review.version, review.artifact_sha256, review.classification)

    def signer(self, review: CardReview) -> Person:
        check = self.log.signers(review.hash)
        return next(p for p in check.with_role(CARD_REVIEWER, COMMITTEE_MEMBER) if p.name not in self.excluded)

    def requested_changes(self, reviews: list[CardReview]) -> CardReview | None:
        """The latest requested change not followed by a counting approving review."""
        pending = None
        for review in reviews:
            if review.decision == CHANGES:
                pending = review
            elif self.problem(review) is None:
                pending = None
        return pending

    def standing(self, reviews: list[CardReview]) -> tuple[list[tuple[Person, CardReview]], list[str]]:
        latest: dict[str, tuple[Person, CardReview]] = {}
        void = []
        for review in (r for r in reviews if r.decision == APPROVE):
            problem = self.problem(review)
            if problem is None:
                person = self.signer(review)
                latest[person.name] = (person, review)
            else:
                void.append(f"review {review.seq} ({_label(review)}) counts as nothing: {problem}")
        today = self.now.date()
        fresh = [(p, r) for p, r in latest.values()
                 if today < r.reviewed_on + timedelta(days=self.rules.valid_days)]
        return fresh, void


def _shortfall(approvals: list[tuple[Person, CardReview]], void: list[str], ours: list[CardReview],
               card_sha256: str, rules: ReviewRules, model: str) -> list[str]:
    how = (f"record one with `aisec card review {model} --key KEY --decision approve --note ...` "
           "(signed by a keyring reviewer other than the card's owner)")
    why_void = "".join(f"; {v}" for v in void)
    if not approvals:
        earlier = [r for r in ours if r.decision == APPROVE]
        if void:
            return [f"model_card: no approving review counts{why_void}; {how}"]
        if earlier and earlier[-1].card_sha256 != card_sha256:
            return [f"model_card: card changed since its review by {_label(earlier[-1])}: needs a new review; {how}"]
        if earlier:
            last = earlier[-1]
            return [f"model_card: card review by {_label(last)} expired after {rules.valid_days} days or was "
                    f"for another artifact: needs a new review; {how}"]
        return [f"model_card: card never reviewed: {how}"]
    reasons = []
    if len(approvals) < rules.required:
        reasons.append(f"model_card: card has {len(approvals)} of the {rules.required} signed reviews its "
                       f"tier requires (by {', '.join(p.name for p, _ in approvals)}){why_void}; {how}")
    if rules.committee_member and not any(p.has(COMMITTEE_MEMBER) for p, _ in approvals):
        reasons.append("model_card: its tier needs a review signed by a committee member (keyring role "
                       "committee_member)")
    return reasons
