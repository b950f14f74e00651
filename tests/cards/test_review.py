"""Human review of the exact card: bound to its bytes, by a named person who is not the owner,
enough of them for the tier, and a requested change that a deleted line cannot lift."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone

import pytest

from aisec_pipeline.cards.review import REVIEW_FILE, ReviewRules, load_reviews, record_review, review_finding
from aisec_pipeline.trust.ledger import LedgerError

CARD = hashlib.sha256(b"the card as reviewed").hexdigest()
EDITED = hashlib.sha256(b"the card as reviewed!").hexdigest()
DIGEST = "ab" * 32
OWNER = "Amara Okafor"
TODAY = date(2026, 12, 1)
COMMITTEE = ("Priya Raman", "Tomasz Nowak")


def review(root, reviewer="Jonas Weber", decision="approve", card=CARD, note="checked", when=None):
    return record_review(root / REVIEW_FILE, model="m", card_sha256=card, artifact_sha256=DIGEST,
                         decision=decision, reviewer=reviewer, note=note, owner=OWNER,
                         now=when or datetime(2026, 11, 30, tzinfo=timezone.utc))


DEFAULT_RULES = ReviewRules()


def finding(root, card=CARD, rules=DEFAULT_RULES, remembered=(), today=TODAY):
    return review_finding(load_reviews(root), "m", card, DIGEST, OWNER, rules, COMMITTEE, today,
                          remembered)


def test_a_card_never_reviewed_blocks(tmp_path):
    assert "card never reviewed" in finding(tmp_path).reasons[0]


def test_an_approving_review_of_these_bytes_stands(tmp_path):
    review(tmp_path)
    result = finding(tmp_path)
    assert result.reasons == () and [r.reviewer for r in result.standing] == ["Jonas Weber"]


def test_one_character_edit_after_review_blocks_naming_the_reviewer(tmp_path):
    review(tmp_path)
    reasons = finding(tmp_path, card=EDITED).reasons
    assert reasons and "card changed since its review by Jonas Weber on 2026-11-30" in reasons[0]


@pytest.mark.parametrize("reviewer, words", [(OWNER, "owns this card"), ("amara  OKAFOR", "owns this card"),
                                             ("ML Team", "group alias"), ("x", "not a named person")])
def test_reviewers_are_named_people_other_than_the_owner(tmp_path, reviewer, words):
    with pytest.raises(LedgerError, match=words):
        review(tmp_path, reviewer=reviewer)
    assert load_reviews(tmp_path).records == ()


def test_requested_changes_block_until_a_later_approval(tmp_path):
    review(tmp_path)
    review(tmp_path, reviewer="Helen Okafor", decision="changes-requested", note="failure modes are vague",
           when=datetime(2026, 11, 30, 12, tzinfo=timezone.utc))
    assert "changes requested by Helen Okafor" in finding(tmp_path).reasons[0]
    review(tmp_path, reviewer="Helen Okafor", when=datetime(2026, 11, 30, 13, tzinfo=timezone.utc))
    assert finding(tmp_path).reasons == ()


def test_a_deleted_requested_change_still_binds_once_seen(tmp_path):
    review(tmp_path)
    changes = review(tmp_path, reviewer="Helen Okafor", decision="changes-requested", note="wrong data",
                     when=datetime(2026, 11, 30, 12, tzinfo=timezone.utc))
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


def test_high_tier_needs_two_reviews_including_a_committee_member(tmp_path):
    rules = ReviewRules(required=2, committee_member=True)
    review(tmp_path)
    assert any("1 of the 2 reviews" in r for r in finding(tmp_path, rules=rules).reasons)
    review(tmp_path, reviewer="Lena Fischer")
    assert any("committee member" in r for r in finding(tmp_path, rules=rules).reasons)
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
    path.write_text(path.read_text().replace("Jonas Weber", "Jonas Webber"))
    assert "tampered" in finding(tmp_path).reasons[0]
