"""The model_card check judges the card's signed review by the decision's own rule, so it never
says PASSED while the decision blames the card: a never-reviewed card fails it, a reviewed one
passes it until the day its review lapses, and a passing verdict is not reused after that day."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from inventory_builder import add_model, new_inventory, review_card, safetensors_bytes

from aisec_pipeline.assessments import assess_card
from aisec_pipeline.governance.decision import EVALUATED_AT
from aisec_pipeline.governance.policy import load_policy
from aisec_pipeline.inventory import load_model
from aisec_pipeline.orchestration.evidence import reusable
from aisec_pipeline.verdict import Status, Verdict


def test_the_card_check_fails_until_a_keyring_reviewer_signs_and_says_until_when_it_holds(tmp_path):
    root = new_inventory(tmp_path / "assets")
    folder = add_model(root, "clean-model", safetensors_bytes(tmp_path), reviewed=False)
    model, policy = load_model(folder), load_policy(root)
    assert assess_card(model).passed, "the card's content alone is valid"
    unreviewed = assess_card(model, policy=policy)
    assert unreviewed.status is Status.FAILED
    assert unreviewed.reasons[0].startswith("card never reviewed: record one with `aisec card review")

    review_card(root, "clean-model")
    reviewed = assess_card(load_model(folder), policy=load_policy(root))
    assert reviewed.passed, reviewed.reasons
    valid_days = policy.tier_for(model.entry).card_review.valid_days
    lapses = datetime.fromisoformat(reviewed.figures["review_valid_until"])
    assert lapses.date() == date.today() + timedelta(days=valid_days)
    assert reviewed.figures["signed_reviews"] and "on " in reviewed.figures["signed_reviews"][0]


def card_verdict(review_valid_until: str) -> Verdict:
    now = datetime.now(timezone.utc)
    return Verdict("model_card", Status.PASSED, (), {EVALUATED_AT: now.isoformat(),
                                                     "review_valid_until": review_valid_until})


def test_a_passing_card_verdict_is_not_reused_once_its_review_lapses():
    now = datetime.now(timezone.utc)
    assert reusable(card_verdict((now + timedelta(hours=1)).isoformat()), 24)
    assert not reusable(card_verdict((now - timedelta(seconds=1)).isoformat()), 24)
    assert not reusable(card_verdict("not a date"), 24), "an unreadable date is no reason to reuse"
