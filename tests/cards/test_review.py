"""Human review of the exact card: bound to its bytes, signed by a keyring reviewer who is not
the owner, enough of them for the tier, and a requested change that a deleted line cannot lift."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from signing import demo_signer

from aisec_pipeline.cards.review import (PAYLOAD_TYPE, REVIEW_FILE, CardUnderReview, ReviewRules,
                                         load_reviews, record_review, review_finding)
from aisec_pipeline.governance.policy import load_policy
from aisec_pipeline.inventory.schema import Level
from aisec_pipeline.trust.ledger import LedgerError
from aisec_pipeline.trust.subject import Classification, Subject

CARD = hashlib.sha256(b"the card as reviewed").hexdigest()
EDITED = hashlib.sha256(b"the card as reviewed!").hexdigest()
DIGEST = "ab" * 32
OWNER = "Amara Okafor"
TODAY = date(2026, 12, 1)
SUBJECT = Subject("m", "1.0.0", DIGEST, Classification(harm=Level.LOW, reversibility=Level.HIGH, tier="low"))
KEYRING = load_policy(Path(__file__).resolve().parents[2] / "assets").people


def review(root, reviewer="Jonas Weber", decision="approve", card=CARD, note="checked", when=None,
           signer=""):
    signer = reviewer if signer == "" else signer
    return record_review(root / REVIEW_FILE, subject=SUBJECT, card=CardUnderReview(card, OWNER),
                         decision=decision, reviewer=reviewer, note=note,
                         sign=demo_signer(signer, PAYLOAD_TYPE) if signer else None,
                         now=when or datetime(2026, 11, 30, tzinfo=timezone.utc))


DEFAULT_RULES = ReviewRules()


def finding(root, card=CARD, rules=DEFAULT_RULES, remembered=(), today=TODAY):
    now = datetime.combine(today, time(12), timezone.utc)
    return review_finding(load_reviews(root, KEYRING), SUBJECT, CardUnderReview(card, OWNER), rules,
                          KEYRING, now, remembered)


def test_a_card_never_reviewed_blocks(tmp_path):
    assert "card never reviewed" in finding(tmp_path).reasons[0]


def test_an_approving_signed_review_of_these_bytes_stands(tmp_path):
    review(tmp_path)
    result = finding(tmp_path)
    assert result.reasons == () and result.signers == ("Jonas Weber on 2026-11-30",)


def test_one_character_edit_after_review_blocks_naming_the_reviewer(tmp_path):
    review(tmp_path)
    reasons = finding(tmp_path, card=EDITED).reasons
    assert reasons and "card changed since its review by Jonas Weber on 2026-11-30" in reasons[0]


@pytest.mark.parametrize("reviewer, words", [("ML Team", "group alias"), ("x", "not a named person")])
def test_reviewers_are_named_people(tmp_path, reviewer, words):
    with pytest.raises(LedgerError, match=words):
        review(tmp_path, reviewer=reviewer, signer="Jonas Weber")
    assert load_reviews(tmp_path, KEYRING).chain.records == ()


def test_the_owner_signing_counts_as_nothing_whatever_name_is_typed(tmp_path):
    owned = Subject("m", "1.0.0", DIGEST, SUBJECT.classification)
    record_review(tmp_path / REVIEW_FILE, subject=owned, card=CardUnderReview(CARD, "Priya Raman"),
                  decision="approve", reviewer="Someone Else", note="ok",
                  sign=demo_signer("Priya Raman", PAYLOAD_TYPE), now=datetime(2026, 11, 30, tzinfo=timezone.utc))
    result = review_finding(load_reviews(tmp_path, KEYRING), owned, CardUnderReview(CARD, "priya  RAMAN"),
                            DEFAULT_RULES, KEYRING, datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert result.reasons and "who owns or owned this card" in result.reasons[0]


def test_an_owner_outside_the_keyring_cannot_be_told_apart(tmp_path):
    review(tmp_path)
    result = review_finding(load_reviews(tmp_path, KEYRING), SUBJECT, CardUnderReview(CARD, "Amara Okafоr"),
                            DEFAULT_RULES, KEYRING, datetime(2026, 12, 1, tzinfo=timezone.utc))  # Cyrillic о
    assert result.reasons and "is not a person in the policy's keyring" in result.reasons[0]


def test_requested_changes_block_until_a_later_signed_approval(tmp_path):
    review(tmp_path)
    review(tmp_path, reviewer="Helen Okafor", decision="changes-requested", note="failure modes are vague",
           when=datetime(2026, 11, 30, 12, tzinfo=timezone.utc), signer=None)
    assert "changes requested by Helen Okafor" in finding(tmp_path).reasons[0]
    review(tmp_path, reviewer="Zed Quux", signer=None, when=datetime(2026, 11, 30, 13, tzinfo=timezone.utc))
    assert "changes requested by Helen Okafor" in finding(tmp_path).reasons[0], "an unsigned approval lifted it"
    review(tmp_path, reviewer="Helen Okafor", when=datetime(2026, 11, 30, 14, tzinfo=timezone.utc))
    assert finding(tmp_path).reasons == ()


def test_a_deleted_requested_change_still_binds_once_seen(tmp_path):
    review(tmp_path)
    changes = review(tmp_path, reviewer="Helen Okafor", decision="changes-requested", note="wrong data",
                     when=datetime(2026, 11, 30, 12, tzinfo=timezone.utc), signer=None)
    path = tmp_path / REVIEW_FILE
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    assert finding(tmp_path).reasons == ()  # the file alone cannot tell
    reasons = finding(tmp_path, remembered=(changes,)).reasons
    assert reasons and "wrong data" in reasons[0] and "removed from the log" in reasons[0]


def test_a_deleted_approval_does_not_count(tmp_path):
    review(tmp_path)
    path = tmp_path / REVIEW_FILE
    path.write_text("")
    assert "never reviewed" in finding(tmp_path).reasons[0]


def test_high_tier_needs_two_signed_reviewers_including_a_committee_member(tmp_path):
    rules = ReviewRules(required=2, committee_member=True)
    review(tmp_path)
    assert any("1 of the 2 signed reviews" in r for r in finding(tmp_path, rules=rules).reasons)
    review(tmp_path, reviewer="Jonas Weber.", signer="Jonas Weber")  # the same key again
    assert any("1 of the 2 signed reviews" in r for r in finding(tmp_path, rules=rules).reasons)
    review(tmp_path, reviewer="Lena Fischer", signer=None)  # a typed name
    assert any("1 of the 2 signed reviews" in r for r in finding(tmp_path, rules=rules).reasons)
    review(tmp_path, reviewer="Priya Raman")
    assert finding(tmp_path, rules=rules).reasons == ()


def test_a_review_stands_only_for_its_validity(tmp_path):
    review(tmp_path)
    rules = ReviewRules(valid_days=30)
    assert finding(tmp_path, rules=rules, today=TODAY + timedelta(days=20)).reasons == ()
    assert "expired" in finding(tmp_path, rules=rules, today=TODAY + timedelta(days=40)).reasons[0]


def test_an_edited_review_line_breaks_the_log(tmp_path):
    review(tmp_path)
    path = tmp_path / REVIEW_FILE
    path.write_text(path.read_text().replace("checked", "checkd"))
    assert "tampered" in finding(tmp_path).reasons[0]


def test_a_review_for_another_version_or_classification_counts_as_nothing(tmp_path):
    review(tmp_path)
    bumped = Subject("m", "1.0.1", DIGEST, SUBJECT.classification)
    result = review_finding(load_reviews(tmp_path, KEYRING), bumped, CardUnderReview(CARD, OWNER),
                            DEFAULT_RULES, KEYRING, datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert result.reasons and "given for version 1.0.0, not 1.0.1" in result.reasons[0]
