"""Issue 17: every way a typed name, a rewritten line, a future date or a self-service policy edit
got a model APPROVED is refused now: permissions are signatures by keyring keys, order is the
register's, and the policy is a signed history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from signing import demo_signer, signer_of, stranger_key

from aisec_pipeline.cards.review import REVIEW_FILE
from aisec_pipeline.governance.committee import PAYLOAD_TYPE as COMMITTEE_TYPE
from aisec_pipeline.governance.committee import REGISTER_FILE, record_decision
from aisec_pipeline.governance.incidents import INCIDENT_FILE, record_event
from aisec_pipeline.governance.memory import Remembered
from aisec_pipeline.governance.policy import POLICY_FILE, load_policy
from aisec_pipeline.inventory import InventoryError, load_model
from aisec_pipeline.trust.ledger import record_hash

FUTURE = datetime(2099, 1, 1, tzinfo=timezone.utc)


def _reasons(decision, text):
    return [r for r in decision.reasons if text in r]


# --- anyone could sign as anyone ------------------------------------------------------------------

def test_a_review_by_a_name_in_no_keyring_counts_as_nothing(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("zed", reviewed=False)
    gov_inventory.review(model, "Zed Quux", signer=None)
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "review 1 (Zed Quux on 2026-11-24) counts as nothing: it is not signed")


def test_a_review_signed_by_a_stranger_key_counts_as_nothing(gov_inventory, clean_verdicts, now, tmp_path):
    from aisec_pipeline.cards.review import PAYLOAD_TYPE, record_review
    model = gov_inventory.add_model("stranger", reviewed=False)
    record_review(gov_inventory.root / REVIEW_FILE, subject=gov_inventory.policy().subject(model.entry),
                  card=gov_inventory.card(model), decision="approve", reviewer="Jonas Weber", note="ok",
                  sign=signer_of(stranger_key(tmp_path), PAYLOAD_TYPE), now=now - timedelta(days=1))
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "signature(s) by keys not in the policy's keyring")


def test_the_owner_cannot_review_their_own_card_under_a_look_alike_name(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("own-card", reviewed=False)
    owner_card = gov_inventory.card(model)
    # Priya Raman owns this card here; she signs a review typed as "Priya Rаman" (Cyrillic а).
    from dataclasses import replace

    from aisec_pipeline.cards.review import PAYLOAD_TYPE, record_review
    card = replace(owner_card, owner="Priya Raman")
    record_review(gov_inventory.root / REVIEW_FILE, subject=gov_inventory.policy().subject(model.entry),
                  card=card, decision="approve", reviewer="Priya Rаman", note="looks fine",
                  sign=demo_signer("Priya Raman", PAYLOAD_TYPE), now=now - timedelta(days=1))
    decision = gov_inventory.decide(model, clean_verdicts(), now, card=card)
    assert not decision.approved
    assert _reasons(decision, "it is signed by Priya Raman, who owns or owned this card")


def test_renaming_the_owner_does_not_let_the_old_owner_review(gov_inventory, clean_verdicts, now):
    from dataclasses import replace

    from aisec_pipeline.cards.review import PAYLOAD_TYPE, record_review
    model = gov_inventory.add_model("renamed-owner", reviewed=False)
    path = gov_inventory.root / REVIEW_FILE
    subject = gov_inventory.policy().subject(model.entry)
    first = replace(gov_inventory.card(model), owner="Priya Raman")
    record_review(path, subject=subject, card=first, decision="approve", reviewer="Jonas Weber",
                  note="first version", sign=demo_signer("Jonas Weber", PAYLOAD_TYPE),
                  now=now - timedelta(days=2))
    renamed = replace(first, sha256="ef" * 32, owner="Tomasz Nowak")  # the card now names Tomasz
    record_review(path, subject=subject, card=renamed, decision="approve", reviewer="Priya Raman",
                  note="my own card, renamed", sign=demo_signer("Priya Raman", PAYLOAD_TYPE),
                  now=now - timedelta(days=1))
    decision = gov_inventory.decide(model, clean_verdicts(), now, card=renamed)
    assert not decision.approved
    assert _reasons(decision, "who owns or owned this card")


def test_two_spellings_of_one_reviewer_are_one_review(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("twice", tier="high", reviewed=False)
    gov_inventory.record(model, "approve")
    gov_inventory.review(model, "Priya Raman")
    gov_inventory.review(model, "Priya Raman.", signer="Priya Raman")
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "card has 1 of the 2 signed reviews its tier requires (by Priya Raman)")
    gov_inventory.review(model, "Jonas Weber")
    assert gov_inventory.decide(model, clean_verdicts(), now).approved


def test_committee_approval_by_typed_members_approves_nothing(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("high-risk", tier="high")
    gov_inventory.record(model, "approve", signers=(), members=["Mallory Evil", "Eve Intruder"])
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "approval record 1 counts as nothing: it is signed by 0 of the 2 committee members")


def test_one_member_is_not_a_quorum_and_a_stranger_lifts_no_block(gov_inventory, clean_verdicts, now, tmp_path):
    model = gov_inventory.add_model("blocked", tier="low")
    gov_inventory.record(model, "block", rationale="unsafe vendor")
    gov_inventory.record(model, "approve", signers=("Priya Raman",))
    path = gov_inventory.root / REGISTER_FILE
    record_decision(path, subject=gov_inventory.policy().subject(model.entry), decision="approve",
                    rationale="lifted", members=["Priya Raman", "Helen Okafor"],
                    sign=signer_of(stranger_key(tmp_path), COMMITTEE_TYPE), now=now - timedelta(minutes=5))
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "committee: blocked by record 1")
    gov_inventory.record(model, "approve")  # two committee members sign: the block is lifted
    assert gov_inventory.decide(model, clean_verdicts(), now).approved


def test_an_incident_downgraded_or_closed_without_a_handler_signature_stays_open(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("harmful")
    path = gov_inventory.root / INCIDENT_FILE
    opened = record_event(path, "open", actor="Grace Hopper", what="denied 40 claims", model=model.name,
                          version="1.0.0", severity="serious", aware_at=now - timedelta(days=1),
                          now=now - timedelta(hours=2))
    record_event(path, "update", actor="Eve Intruder", what="not so bad", incident_id=opened.incident_id,
                 severity="low", now=now - timedelta(hours=1))
    record_event(path, "close", actor="Eve Intruder", what="done", incident_id=opened.incident_id,
                 now=now - timedelta(minutes=30))
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "close event 3 (Eve Intruder) counts as nothing")
    assert _reasons(decision, f"incident {opened.incident_id} (serious")


# --- history could be rewritten -------------------------------------------------------------------

def _rewrite(path, number, change):
    """Edit record `number` and recompute the hash chain from there, as an attacker would."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    change(records[number - 1])
    previous = records[number - 2]["hash"] if number > 1 else "0" * 64
    for record in records[number - 1:]:
        record["prev_hash"] = previous
        record["hash"] = previous = record_hash(record)
    path.write_text("".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records))


def test_a_signed_block_rewritten_into_an_approval_is_tampering(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("rewritten")
    other = gov_inventory.add_model("bystander")
    gov_inventory.record(model, "block", rationale="unsafe")
    gov_inventory.record(other, "approve")
    _rewrite(gov_inventory.root / REGISTER_FILE, 1, lambda r: r.update(decision="approve"))
    for each in (model, other):
        decision = gov_inventory.decide(each, clean_verdicts(), now)
        assert not decision.approved
        assert _reasons(decision, "committee register tampered at line 1: the signature of Priya Raman, "
                                  "Helen Okafor does not verify")


def test_a_later_unsigned_approval_does_not_lift_a_remembered_block(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("remembered")
    block = gov_inventory.record(model, "block", signers=(), rationale="unsafe")
    path = gov_inventory.root / REGISTER_FILE
    path.write_text("")  # the block's line is deleted ...
    gov_inventory.record(model, "approve", signers=(), at=now - timedelta(minutes=1))  # ... an "approval" added
    remembered = Remembered(committee=(block,))
    decision = gov_inventory.decide(model, clean_verdicts(), now, remembered=remembered)
    assert not decision.approved
    assert _reasons(decision, "committee: blocked by record 1")


def test_a_record_dated_in_the_future_outranks_nothing(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("time-traveller")
    gov_inventory.record(model, "approve", at=FUTURE)
    gov_inventory.record(model, "block", rationale="found a leak")  # later in the register, earlier date
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved and _reasons(decision, "committee: blocked by record 2")
    high = gov_inventory.add_model("future-approval", tier="high")
    gov_inventory.record(high, "approve", at=FUTURE)
    decision = gov_inventory.decide(high, clean_verdicts(), now)
    assert _reasons(decision, "from the future")


def test_a_future_dated_review_cannot_outrank_a_later_change_request(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("future-review", reviewed=False)
    gov_inventory.review(model, "Jonas Weber", at=FUTURE)
    gov_inventory.review(model, "Tomasz Nowak", decision="changes-requested", signer=None)
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "changes requested by Tomasz Nowak")


# --- the policy was self-service ------------------------------------------------------------------

def test_an_unsigned_policy_change_blocks_every_model_naming_it(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("biased")

    def loosen(policy):
        policy["tiers"]["low"]["bias"]["max_difference"] = 1.0
    gov_inventory.edit_yaml(POLICY_FILE, loosen, sign=False)
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "policy: policies/policy.yaml differs from signed policy version 1: "
                              "tiers.low.bias.max_difference: 0.2 -> 1.0")


def test_a_self_added_committee_member_is_an_unsigned_change(gov_inventory, clean_verdicts, now, tmp_path):
    from aisec_pipeline.trust.keys import generate_key
    model = gov_inventory.add_model("insider")
    public = generate_key(tmp_path / "mallory.key")

    def add_me(policy):
        policy["keyring"].append({"name": "Mallory Evil", "roles": ["committee_member", "governance_owner"],
                                  "public_keys": [public]})
    gov_inventory.edit_yaml(POLICY_FILE, add_me, sign=False)
    assert _reasons(gov_inventory.decide(model, clean_verdicts(), now), "keyring: 9 -> 10 items")
    # Mallory signs the new version herself: still not signed by version 1's governance owners.
    from aisec_pipeline.governance.policy_trust import PAYLOAD_TYPE, sign_policy
    sign_policy(gov_inventory.root, signer_of(tmp_path / "mallory.key", PAYLOAD_TYPE))
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "policy version 2 awaits signatures")


def test_policy_values_out_of_bounds_are_refused(gov_inventory):
    def absurd(policy):
        policy["tiers"]["low"]["evidence_max_age_hours"] = 24 * 365 * 114_000
    gov_inventory.edit_yaml(POLICY_FILE, absurd, sign=False)
    with pytest.raises(InventoryError, match="evidence_max_age_hours"):
        load_policy(gov_inventory.root)

    def production_only(policy):
        policy["tiers"]["low"]["evidence_max_age_hours"] = 24
        policy["environments"] = ["production"]
    gov_inventory.edit_yaml(POLICY_FILE, production_only, sign=False)
    with pytest.raises(InventoryError, match="environments"):
        load_policy(gov_inventory.root)


def test_a_rotation_needs_the_old_owners_and_a_pinned_root_refuses_a_new_history(
        gov_inventory, clean_verdicts, now, monkeypatch):
    from aisec_pipeline.governance.policy_trust import POLICY_LOG, verify_policy
    model = gov_inventory.add_model("rotated")

    def stricter(policy):
        policy["tiers"]["low"]["bias"]["max_difference"] = 0.1
    gov_inventory.edit_yaml(POLICY_FILE, stricter)  # both governance owners sign version 2
    trust = verify_policy(gov_inventory.root)
    assert trust.trusted and trust.version == 2 and set(trust.signers) == {"Priya Raman", "Helen Okafor"}
    root = trust.root
    (gov_inventory.root / POLICY_LOG).write_text("")  # a new history, signed by the same keys ...
    from signing import resign_policy
    resign_policy(gov_inventory.root)
    monkeypatch.setenv("AISEC_POLICY_ROOT", root)  # ... but the trusted CI pinned the first root
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved and _reasons(decision, "is not the pinned root")


# --- the risk tier was self-declared --------------------------------------------------------------

def test_lowering_the_tier_in_model_yaml_voids_approvals_and_needs_a_governance_owner(
        gov_inventory, clean_verdicts, now):
    import yaml
    model = gov_inventory.add_model("compas-like", tier="high")
    gov_inventory.record(model, "approve")
    assert gov_inventory.decide(model, clean_verdicts(), now).approved
    entry_path = model.folder / "model.yaml"
    entry = yaml.safe_load(entry_path.read_text())
    entry["risk"]["harm"], entry["risk"]["reversibility"] = "low", "high"  # high tier -> low tier
    entry_path.write_text(yaml.safe_dump(entry))
    lowered = load_model(model.folder)
    decision = gov_inventory.decide(lowered, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "risk: compas-like was signed off at tier high")
    assert _reasons(decision, "it was given for tier high (harm high, reversibility low); the model now "
                              "declares tier low")
    gov_inventory.record(lowered, "classify", signers=("Helen Okafor",), rationale="harm re-assessed")
    gov_inventory.review(lowered, "Jonas Weber")
    assert gov_inventory.decide(lowered, clean_verdicts(), now).approved


def test_a_deeply_nested_line_is_a_broken_chain_not_a_crash(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("nested")
    (gov_inventory.root / REGISTER_FILE).parent.mkdir(exist_ok=True)
    (gov_inventory.root / REGISTER_FILE).write_text("[" * 100_000 + "]" * 100_000 + "\n")
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert not decision.approved
    assert _reasons(decision, "committee register tampered at line 1: JSON nested too deeply")


def test_a_deleted_block_before_a_signed_record_is_caught_on_a_fresh_instance(gov_inventory, clean_verdicts, now):
    """Signed records vouch for the history before them: deleting a block (and renumbering the
    chain) breaks every later signature, with no instance memory at all."""
    model = gov_inventory.add_model("deleted-block")
    gov_inventory.record(model, "block", signers=(), rationale="unsafe")  # an unsigned restriction
    other = gov_inventory.add_model("later")
    gov_inventory.record(other, "approve")  # signed: a checkpoint of everything before it
    path = gov_inventory.root / REGISTER_FILE
    records = [json.loads(line) for line in path.read_text().splitlines()][1:]
    previous = "0" * 64
    for seq, record in enumerate(records, start=1):
        record["seq"], record["prev_hash"] = seq, previous
        record["hash"] = previous = record_hash(record)
    path.write_text("".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records))
    decision = gov_inventory.decide(model, clean_verdicts(), now)  # no remembered restrictions
    assert not decision.approved
    assert _reasons(decision, "committee register tampered at line 1: the signature of")


def test_promotion_rules_name_only_environments_promoted_to(gov_inventory):
    def typo(policy):
        policy["promotion"] = {"prod": {"min_hours_in_previous": 24}}
    gov_inventory.edit_yaml(POLICY_FILE, typo, sign=False)
    with pytest.raises(InventoryError, match="promotion names"):
        load_policy(gov_inventory.root)


def test_sign_off_problems_are_named_apart_from_evidence(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("unsigned-card", reviewed=False)
    gov_inventory.review(model, "Zed Quux", signer=None)
    decision = gov_inventory.decide(model, clean_verdicts(), now)
    assert decision.signoff_problems and all(r in decision.reasons for r in decision.signoff_problems)
    assert any("counts as nothing" in r for r in decision.signoff_problems)
    assert decision.evidence["model_card"] == "passed"  # the card's content is fine; its sign-off is not
    signed = gov_inventory.add_model("signed-card")
    approved = gov_inventory.decide(signed, clean_verdicts(), now)
    assert approved.approved and approved.signoff_problems == ()
    assert "card review: Jonas Weber on 2026-11-24 (signature verified)" in approved.signoffs


def test_a_policy_rolled_back_below_a_version_the_instance_verified_blocks(gov_inventory, clean_verdicts, now):
    from aisec_pipeline.governance.memory import PolicyHead
    from aisec_pipeline.governance.policy_trust import POLICY_LOG, verify_policy
    model = gov_inventory.add_model("rolled-back")
    log = gov_inventory.root / POLICY_LOG
    version_1 = log.read_text()
    policy_1 = (gov_inventory.root / POLICY_FILE).read_text()

    def stricter(policy):
        policy["tiers"]["low"]["bias"]["max_difference"] = 0.1
    gov_inventory.edit_yaml(POLICY_FILE, stricter)  # version 2, signed
    trust = verify_policy(gov_inventory.root)
    seen = Remembered(policy_heads=(PolicyHead(trust.root, trust.version, trust.head),))
    log.write_text(version_1)  # back to the looser, validly signed version 1
    (gov_inventory.root / POLICY_FILE).write_text(policy_1)
    assert gov_inventory.decide(model, clean_verdicts(), now).approved  # a fresh instance cannot tell
    decision = gov_inventory.decide(model, clean_verdicts(), now, remembered=seen)
    assert not decision.approved
    assert _reasons(decision, "policy: this instance verified version 2 of this policy history")
