"""The committee register: append-only, hash-chained, every kind of tampering detected."""

from __future__ import annotations

import json
import multiprocessing
from datetime import date, timedelta

import pytest

from aisec_pipeline.governance.committee import (REGISTER_FILE, committee_finding, load_register,
                                                 record_decision)
from aisec_pipeline.inventory.digest import model_digest
from aisec_pipeline.governance.incidents import IncidentLog
from aisec_pipeline.trust.ledger import GENESIS, LedgerError, canonical_json, record_hash
from aisec_pipeline.governance.memory import restrictions_in

DIGEST = "ab" * 32


def _append(path, model="model-a", decision="approve", **kw):
    kw.setdefault("decided_on", date(2026, 11, 1))
    return record_decision(path, model=model, artifact_sha256=kw.pop("digest", DIGEST),
                           decision=decision, rationale=kw.pop("rationale", "reviewed"),
                           members=kw.pop("members", ["Ada Byron"]), **kw)


@pytest.fixture
def register_path(tmp_path):
    path = tmp_path / REGISTER_FILE
    for model in ("model-a", "model-b", "model-c"):
        _append(path, model)
    return path


def test_records_chain_to_each_other(register_path):
    lines = [json.loads(line) for line in register_path.read_text().splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 3]
    assert lines[0]["prev_hash"] == GENESIS
    for previous, record in zip(lines, lines[1:]):
        assert record["prev_hash"] == previous["hash"]
    for record in lines:
        assert record["hash"] == record_hash(record)
        assert set(record) >= {"model", "artifact_sha256", "decision", "defer_until", "conditions",
                               "decided_on", "rationale", "members_present", "recorded_at"}
    register = load_register(register_path.parents[1])
    assert register.intact and len(register.records) == 3 and register.head == lines[-1]["hash"]


def test_missing_register_is_empty(tmp_path):
    register = load_register(tmp_path)
    assert register.intact and register.records == ()


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
def test_every_kind_of_tampering_is_found_with_its_line(register_path, change, line, words):
    _rewrite(register_path, change)
    register = load_register(register_path.parents[1])
    assert not register.intact
    assert register.problem.startswith(f"line {line}: ") and words in register.problem


def test_a_consistent_rewrite_of_hashes_is_still_caught_by_the_chain(register_path):
    """Editing a record and recomputing its own hash breaks the next record's prev_hash."""
    def forge(lines):
        record = json.loads(lines[0])
        record["decision"] = "block"
        record["hash"] = record_hash(record)
        return [canonical_json(record) + "\n", *lines[1:]]
    _rewrite(register_path, forge)
    assert load_register(register_path.parents[1]).problem.startswith("line 2: prev_hash")


def test_a_removed_block_still_binds_once_seen(register_path, gov_inventory):
    """Truncation leaves a self-consistent chain; the remembered block is what binds."""
    tier = gov_inventory.policy().tiers["low"]
    _append(register_path, "model-a", "block", rationale="leaks training data")
    seen = restrictions_in(load_register(register_path.parents[1]), IncidentLog(()))
    _rewrite(register_path, lambda ls: ls[:-1])
    shortened = load_register(register_path.parents[1])
    assert shortened.intact  # a shorter chain is self-consistent: the file alone cannot tell
    for _ in range(3):  # every later gate, not just the next
        finding = committee_finding(shortened, "model-a", DIGEST, "low", tier, date(2026, 11, 25),
                                    seen.committee)
        assert finding.reasons and "leaks training data" in finding.reasons[0]
        assert "removed from the register" in finding.reasons[0]
    assert not committee_finding(shortened, "model-b", DIGEST, "low", tier, date(2026, 11, 25),
                                 seen.committee).reasons


def test_a_later_approval_lifts_a_remembered_block_but_a_remembered_approval_counts_for_nothing(
        register_path, gov_inventory):
    tier = gov_inventory.policy().tiers["high"]
    _append(register_path, "model-a", "block", rationale="bias across age groups")
    seen = restrictions_in(load_register(register_path.parents[1]), IncidentLog(()))
    _rewrite(register_path, lambda ls: ls[:-1])
    _append(register_path, "model-a", "approve", rationale="re-trained, bias fixed")
    register = load_register(register_path.parents[1])
    assert not committee_finding(register, "model-a", DIGEST, "high", tier, date(2026, 11, 25),
                                 seen.committee).reasons
    approvals = tuple(r for r in register.records if r.decision == "approve")
    _rewrite(register_path, lambda ls: ls[:-1])  # the approval line removed: nothing stands
    finding = committee_finding(load_register(register_path.parents[1]), "model-a", DIGEST, "high",
                                tier, date(2026, 11, 25), seen.committee + approvals)
    assert finding.reasons and "bias across age groups" in finding.reasons[0]


@pytest.mark.parametrize("members, words", [(["ML Team"], "group alias"), (["x"], "not a named person"),
                                            (["Ada Byron", "Risk Committee"], "group alias")])
def test_members_must_be_named_people(tmp_path, members, words):
    with pytest.raises(LedgerError, match=words):
        _append(tmp_path / REGISTER_FILE, members=members)
    assert not (tmp_path / REGISTER_FILE).exists() or not (tmp_path / REGISTER_FILE).read_text()


def test_a_decision_cannot_be_dated_in_the_future(tmp_path):
    future = date.today() + timedelta(days=400)
    with pytest.raises(LedgerError, match="cannot be dated in the future"):
        _append(tmp_path / REGISTER_FILE, decided_on=future)


def test_a_broken_register_refuses_appends_and_finding_blocks(register_path, gov_inventory):
    _rewrite(register_path, lambda ls: [ls[0], ls[2]])
    with pytest.raises(LedgerError, match="refusing to append"):
        _append(register_path)
    tier = gov_inventory.policy().tiers["low"]
    finding = committee_finding(load_register(register_path.parents[1]), "unrelated-model",
                                DIGEST, "low", tier, date(2026, 11, 25))
    assert finding.reasons[0].startswith("committee register tampered at line 2:")


@pytest.mark.parametrize("kwargs, message", [
    ({"decision": "defer"}, "needs defer_until"),
    ({"decision": "defer", "defer_until": date(2026, 10, 1)}, "after decided_on"),
    ({"decision": "block", "defer_until": date(2026, 12, 1)}, "only for defer"),
    ({"members": []}, "members_present"),
    ({"members": ["  "]}, "blank"),
    ({"rationale": ""}, "rationale"),
    ({"digest": "not-a-digest"}, "artifact_sha256"),
    ({"decision": "maybe"}, "decision"),
])
def test_invalid_decisions_are_refused_and_nothing_is_written(tmp_path, kwargs, message):
    path = tmp_path / "decisions.jsonl"
    with pytest.raises(LedgerError, match=message):
        _append(path, **kwargs)
    assert path.read_text() == ""


def _append_many(path, worker, count):
    for index in range(count):
        _append(path, f"worker-{worker}", rationale=f"decision {index}")


def test_concurrent_appends_keep_the_chain_intact(tmp_path):
    path = tmp_path / REGISTER_FILE
    workers = [multiprocessing.Process(target=_append_many, args=(path, w, 15)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    register = load_register(tmp_path)
    assert register.intact and len(register.records) == 45


def test_approval_expiring_soon_is_due(tmp_path, gov_inventory):
    path = tmp_path / REGISTER_FILE
    today = date(2026, 11, 25)
    _append(path, decided_on=today - timedelta(days=170))
    tier = gov_inventory.policy().tiers["high"]
    finding = committee_finding(load_register(tmp_path), "model-a", DIGEST, "high", tier, today)
    assert finding.reasons == ()
    assert finding.approval_expires_on == today + timedelta(days=10)
    assert [d.due_on for d in finding.due] == [today + timedelta(days=10)]


def test_model_digest_is_the_file_digest_or_a_sorted_manifest_digest():
    assert model_digest({"a.bin": DIGEST}) == DIGEST
    two = model_digest({"b.bin": "cd" * 32, "a.bin": DIGEST})
    assert two == model_digest({"a.bin": DIGEST, "b.bin": "cd" * 32})
    assert two != model_digest({"a.bin": "cd" * 32, "b.bin": DIGEST})  # swapped files differ
    assert len(two) == 64
    with pytest.raises(ValueError):
        model_digest({})
