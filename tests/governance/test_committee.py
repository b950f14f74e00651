"""The committee register: append-only, hash-chained, every kind of tampering detected, and a
permission counts only when the keyring's committee members signed it."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from signing import demo_signer

from aisec_pipeline.governance.committee import (PAYLOAD_TYPE, REGISTER_FILE, committee_finding,
                                                 load_register, record_decision, sign_decision)
from aisec_pipeline.governance.incidents import IncidentLog
from aisec_pipeline.governance.memory import restrictions_in
from aisec_pipeline.governance.policy import load_policy
from aisec_pipeline.inventory.digest import model_digest
from aisec_pipeline.trust.ledger import GENESIS, LedgerError, canonical_json, record_hash
from aisec_pipeline.trust.subject import Classification, Subject

DIGEST = "ab" * 32
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
REPO_ASSETS = Path(__file__).resolve().parents[2] / "assets"
QUORUM = ("Priya Raman", "Helen Okafor")
# harm, reversibility of each tier in the repository's policy.yaml
RISKS = {"low": ("low", "high"), "high": ("high", "low")}


def _subject(model="model-a", tier="low", digest=DIGEST, version="1.0.0") -> Subject:
    harm, reversibility = RISKS[tier]
    classification = Classification(harm=harm, reversibility=reversibility, tier=tier)
    return Subject(model, version, digest, classification)


def _append(path, model="model-a", decision="approve", signers=None, tier="low", **kw):
    """One decision recorded an hour before NOW; permissions signed by the quorum by default,
    restrictions unsigned (they bind whoever recorded them)."""
    if signers is None:
        signers = QUORUM if decision in ("approve", "accept") else ()
    kw.setdefault("decided_on", date(2026, 11, 1))
    subject = kw.pop("subject", None) or _subject(model, tier, kw.pop("digest", DIGEST))
    record = record_decision(path, subject=subject, decision=decision,
                             rationale=kw.pop("rationale", "reviewed"),
                             members=kw.pop("members", ["Ada Byron"]),
                             sign=demo_signer(signers[0], PAYLOAD_TYPE) if signers else None,
                             now=kw.pop("now", NOW - timedelta(hours=1)), **kw)
    for other in signers[1:]:
        record = sign_decision(path, record.seq, demo_signer(other, PAYLOAD_TYPE))
    return record


@pytest.fixture(scope="module")
def policy():
    return load_policy(REPO_ASSETS)


def _load(path, policy):
    return load_register(path.parents[1], policy)


def _finding(register, policy, model="model-a", tier="low", now=NOW, remembered=(), **kw):
    return committee_finding(register, _subject(model, tier, **kw), policy.tiers[tier],
                             policy.committee.quorum, now, remembered)


@pytest.fixture
def register_path(tmp_path):
    path = tmp_path / REGISTER_FILE
    for model in ("model-a", "model-b", "model-c"):
        _append(path, model)
    return path


def test_records_chain_to_each_other_and_carry_verified_signatures(register_path, policy):
    lines = [json.loads(line) for line in register_path.read_text().splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 3]
    assert lines[0]["prev_hash"] == GENESIS
    for previous, record in zip(lines, lines[1:]):
        assert record["prev_hash"] == previous["hash"]
    for record in lines:
        assert record["hash"] == record_hash(record)
        assert set(record) >= {"model", "version", "artifact_sha256", "classification", "decision",
                               "defer_until", "conditions", "decided_on", "rationale",
                               "members_present", "recorded_at", "signatures"}
        assert len(record["signatures"]) == 2
    register = _load(register_path, policy)
    assert register.intact and len(register.chain.records) == 3
    assert register.chain.head == lines[-1]["hash"]
    assert all(register.signers(r.hash).names == QUORUM for r in register.chain.records)


def test_missing_register_is_empty(tmp_path, policy):
    register = load_register(tmp_path, policy)
    assert register.intact and register.chain.records == ()


def _rewrite(path, change):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(change(lines)))


@pytest.mark.parametrize("change, line, words", [
    (lambda ls: [ls[0], ls[1].replace("reviewed", "rubber-stamped"), ls[2]], 2, "edited"),
    (lambda ls: [ls[0], ls[2]], 2, "seq is 3, expected 2"),
    (lambda ls: [ls[1], ls[0], ls[2]], 1, "seq is 2, expected 1"),
    (lambda ls: [ls[0], "{not json\n", ls[2]], 2, "not valid JSON"),
    (lambda ls: [ls[0], "\n", ls[1], ls[2]], 2, "empty line"),
    (lambda ls: [ls[0], ls[1], ls[2].replace('"approve"', '"block"')], 3, "edited"),
])
def test_every_kind_of_tampering_is_found_with_its_line(register_path, policy, change, line, words):
    _rewrite(register_path, change)
    register = _load(register_path, policy)
    assert not register.intact
    assert register.problem.startswith(f"line {line}: ") and words in register.problem


def test_a_consistent_rewrite_of_one_hash_is_still_caught_by_the_chain(register_path, policy):
    """Editing a record and recomputing its own hash breaks the next record's prev_hash."""
    def forge(lines):
        record = json.loads(lines[0])
        record["decision"] = "block"
        record["hash"] = record_hash(record)
        return [canonical_json(record) + "\n", *lines[1:]]
    _rewrite(register_path, forge)
    assert _load(register_path, policy).problem.startswith("line 2: prev_hash")


def test_a_later_signed_record_vouches_for_the_unsigned_history_before_it(tmp_path, policy):
    """An unsigned block rewritten into an approval with the whole chain recomputed is found by
    the next signed record, whose signature covers its prev_hash."""
    path = tmp_path / REGISTER_FILE
    _append(path, "model-a", "block", rationale="unsafe vendor")
    _append(path, "model-b")

    def forge(lines):
        records = [json.loads(line) for line in lines]
        records[0]["decision"] = "approve"
        previous = GENESIS
        for record in records:
            record["prev_hash"] = previous
            record["hash"] = previous = record_hash(record)
        return [canonical_json(r) + "\n" for r in records]
    _rewrite(path, forge)
    register = _load(path, policy)
    assert register.chain.intact  # the hash chain alone cannot tell ...
    assert register.problem.startswith("line 2: the signature of Priya Raman, Helen Okafor "
                                       "does not verify")  # ... the signatures can
    assert _finding(register, policy, "model-c").reasons[0].startswith("committee register tampered")


def test_a_removed_block_still_binds_once_seen(register_path, policy):
    """Truncation leaves a self-consistent chain; the remembered block is what binds."""
    _append(register_path, "model-a", "block", rationale="leaks training data")
    seen = restrictions_in(_load(register_path, policy), IncidentLog(()))
    _rewrite(register_path, lambda ls: ls[:-1])
    shortened = _load(register_path, policy)
    assert shortened.intact  # a shorter chain is self-consistent: the file alone cannot tell
    for _ in range(3):  # every later gate, not just the next
        finding = _finding(shortened, policy, "model-a", remembered=seen.committee)
        assert finding.reasons and "leaks training data" in finding.reasons[0]
        assert "removed from the register" in finding.reasons[0]
    assert not _finding(shortened, policy, "model-b", remembered=seen.committee).reasons


def test_a_later_signed_approval_lifts_a_remembered_block_but_a_remembered_approval_counts_for_nothing(
        register_path, policy):
    _append(register_path, "model-a", "block", rationale="bias across age groups")
    seen = restrictions_in(_load(register_path, policy), IncidentLog(()))
    _rewrite(register_path, lambda ls: ls[:-1])
    # An approval in the removed block's place (same seq) does not come after it: fail safe.
    _append(register_path, "model-a", "approve", tier="high", rationale="re-trained, bias fixed")
    in_its_place = _finding(_load(register_path, policy), policy, "model-a", "high",
                            remembered=seen.committee)
    assert in_its_place.reasons and "bias across age groups" in in_its_place.reasons[0]
    _append(register_path, "model-a", "approve", tier="high", rationale="re-trained, bias fixed")
    register = _load(register_path, policy)
    assert not _finding(register, policy, "model-a", "high", remembered=seen.committee).reasons
    approvals = tuple(r for r in register.chain.records if r.decision == "approve")
    _rewrite(register_path, lambda ls: ls[:-2])  # the approval lines removed: nothing stands
    finding = _finding(_load(register_path, policy), policy, "model-a", "high",
                       remembered=seen.committee + approvals)
    assert finding.reasons and "bias across age groups" in finding.reasons[0]


@pytest.mark.parametrize("signers, words", [
    ((), "signed by 0 of the 2 committee members it needs (unsigned)"),
    (("Priya Raman",), "signed by 1 of the 2 committee members it needs (signed by Priya Raman)"),
    (("Priya Raman", "Jonas Weber"), "signed by 1 of the 2"),  # a card reviewer is no member
])
def test_an_approval_without_the_quorum_of_member_signatures_counts_as_nothing(
        tmp_path, policy, signers, words):
    path = tmp_path / REGISTER_FILE
    _append(path, "model-a", "approve", signers=signers, tier="high",
            members=["Priya Raman", "Helen Okafor", "Tomasz Nowak"])
    finding = _finding(_load(path, policy), policy, "model-a", "high")
    assert finding.standing is None
    assert "approval record 1 counts as nothing" in finding.reasons[0] and words in finding.reasons[0]


def test_a_signed_approval_counts_only_for_the_version_and_classification_it_names(tmp_path, policy):
    path = tmp_path / REGISTER_FILE
    _append(path, "model-a", "approve", tier="high")
    register = _load(path, policy)
    assert not _finding(register, policy, "model-a", "high").reasons
    reasons = _finding(register, policy, "model-a", "high", version="1.1.0").reasons
    assert "it was given for version 1.0.0, not 1.1.0" in reasons[0]
    high_but_other_harm = replace(_subject("model-a", "high"), classification=Classification(
        harm="high", reversibility="medium", tier="high"))
    finding = committee_finding(register, high_but_other_harm, policy.tiers["high"], 2, NOW)
    assert "it was given for tier high (harm high, reversibility low)" in finding.reasons[0]


def test_an_approval_dated_in_the_future_counts_as_nothing(tmp_path, policy):
    path = tmp_path / REGISTER_FILE
    _append(path, "model-a", "approve", tier="high", now=NOW + timedelta(hours=1))
    reasons = _finding(_load(path, policy), policy, "model-a", "high").reasons
    assert "from the future" in reasons[0]
    assert not _finding(_load(path, policy), policy, "model-a", "high",
                        now=NOW + timedelta(hours=2)).reasons  # once that time has come, it counts


@pytest.mark.parametrize("members, words", [(["ML Team"], "group alias"), (["x"], "not a named person"),
                                            (["Ada Byron", "Risk Committee"], "group alias")])
def test_members_must_be_named_people(tmp_path, members, words):
    with pytest.raises(LedgerError, match=words):
        _append(tmp_path / REGISTER_FILE, members=members)
    assert not (tmp_path / REGISTER_FILE).exists() or not (tmp_path / REGISTER_FILE).read_text()


def test_a_decision_cannot_be_dated_in_the_future(tmp_path):
    with pytest.raises(LedgerError, match="cannot be dated in the future"):
        _append(tmp_path / REGISTER_FILE, decided_on=NOW.date() + timedelta(days=2))


def test_a_broken_register_refuses_appends_and_signatures_and_finding_blocks(register_path, policy):
    _rewrite(register_path, lambda ls: [ls[0], ls[2]])
    with pytest.raises(LedgerError, match="refusing to append"):
        _append(register_path)
    with pytest.raises(LedgerError, match="refusing to sign"):
        sign_decision(register_path, 1, demo_signer("Tomasz Nowak", PAYLOAD_TYPE))
    finding = _finding(_load(register_path, policy), policy, "unrelated-model")
    assert finding.reasons[0].startswith("committee register tampered at line 2:")


def test_co_signing_changes_no_hash_and_a_second_signature_by_one_key_adds_nothing(tmp_path, policy):
    path = tmp_path / REGISTER_FILE
    first = _append(path, "model-a", "approve", signers=("Priya Raman",))
    again = sign_decision(path, first.seq, demo_signer("Priya Raman", PAYLOAD_TYPE))
    assert again.hash == first.hash and len(again.signatures) == 1
    both = sign_decision(path, first.seq, demo_signer("Tomasz Nowak", PAYLOAD_TYPE))
    assert both.hash == first.hash and _load(path, policy).intact
    assert _load(path, policy).signers(first.hash).names == ("Priya Raman", "Tomasz Nowak")
    with pytest.raises(LedgerError, match="there is no record 2"):
        sign_decision(path, 2, demo_signer("Helen Okafor", PAYLOAD_TYPE))


@pytest.mark.parametrize("kwargs, message", [
    ({"decision": "defer"}, "needs defer_until"),
    ({"decision": "defer", "defer_until": date(2026, 10, 1)}, "after decided_on"),
    ({"decision": "block", "defer_until": date(2026, 12, 1)}, "only for defer"),
    ({"conditions": ["  "]}, "blank"),
    ({"members": ["  "]}, "blank"),
    ({"rationale": ""}, "rationale"),
    ({"digest": "not-a-digest"}, "artifact_sha256"),
    ({"decision": "maybe"}, "decision"),
])
def test_invalid_decisions_are_refused_and_nothing_is_written(tmp_path, kwargs, message):
    path = tmp_path / "decisions.jsonl"
    with pytest.raises(LedgerError, match=message):
        _append(path, signers=(), **kwargs)
    assert path.read_text() == ""


def _append_many(path, worker, count):
    for index in range(count):
        _append(path, f"worker-{worker}", rationale=f"decision {index}")  # append, then co-sign


def test_concurrent_appends_and_co_signatures_keep_the_chain_intact(tmp_path, policy):
    path = tmp_path / REGISTER_FILE
    workers = [multiprocessing.Process(target=_append_many, args=(path, w, 15)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    register = load_register(tmp_path, policy)
    assert register.intact and len(register.chain.records) == 45
    assert all(register.signers(r.hash).names == QUORUM for r in register.chain.records)


def test_approval_expiring_soon_is_due_and_expires(tmp_path, policy):
    path = tmp_path / REGISTER_FILE
    today = NOW.date()
    _append(path, tier="high", decided_on=today - timedelta(days=170))
    register = load_register(tmp_path, policy)
    finding = _finding(register, policy, "model-a", "high")
    assert finding.reasons == ()
    assert finding.approval_expires_on == today + timedelta(days=10)
    assert [d.due_on for d in finding.due] == [today + timedelta(days=10)]
    expired = _finding(register, policy, "model-a", "high", now=NOW + timedelta(days=10))
    assert "expired on 2026-12-05" in expired.reasons[0]
    assert "signed by Priya Raman, Helen Okafor" in expired.reasons[0]


def test_model_digest_is_the_file_digest_or_a_sorted_manifest_digest():
    assert model_digest({"a.bin": DIGEST}) == DIGEST
    two = model_digest({"b.bin": "cd" * 32, "a.bin": DIGEST})
    assert two == model_digest({"a.bin": DIGEST, "b.bin": "cd" * 32})
    assert two != model_digest({"a.bin": "cd" * 32, "b.bin": DIGEST})  # swapped files differ
    assert len(two) == 64
    with pytest.raises(ValueError):
        model_digest({})
