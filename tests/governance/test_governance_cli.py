"""`aisec committee|incident|policy|key ...` through argparse, as the CLI wires them. Permissions
are signed with the demo people's published keys (scripts/demo_keys)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from signing import demo_key, stranger_key

from aisec_pipeline.governance import command, trust_command
from aisec_pipeline.governance.committee import REGISTER_FILE, load_register
from aisec_pipeline.governance.incidents import INCIDENT_FILE, load_incidents
from aisec_pipeline.governance.policy import POLICY_FILE
from aisec_pipeline.governance.policy_trust import POLICY_LOG
from aisec_pipeline.trust.keyring import Person
from aisec_pipeline.trust.keys import load_signer


def aisec(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="aisec")
    subparsers = parser.add_subparsers(dest="command", required=True)
    command.register(subparsers)
    trust_command.register(subparsers)
    args = parser.parse_args(argv)
    return args.handler(args)


def key(name: str) -> str:
    return str(demo_key(name))


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch):
    """Only what a test passes signs: no key, passphrase or pinned root from the environment."""
    for name in ("AISEC_SIGNING_KEY", "AISEC_KEY_PASSPHRASE", "AISEC_POLICY_ROOT"):
        monkeypatch.delenv(name, raising=False)


def _approve(root: str, model: str, *signers: str) -> int:
    """`committee record --decision approve` with the first signer's key, co-signed by the rest."""
    code = aisec("committee", "record", "--model", model, "--decision", "approve", "--rationale",
                 "reviewed", "--member", "Priya Raman", "--inventory", root, "--key", key(signers[0]))
    seq = str(len(_register_lines(root)))
    for other in signers[1:]:
        code = code or aisec("committee", "sign", seq, "--key", key(other), "--inventory", root)
    return code


def _register_lines(root: str) -> list[str]:
    return (Path(root) / REGISTER_FILE).read_text().splitlines()


def _one_line_errors(err: str, count: int) -> list[str]:
    lines = err.strip().splitlines()
    assert len(lines) == count and all(line.startswith("aisec: ") for line in lines), err
    assert "Traceback" not in err
    return lines


# --- committee ------------------------------------------------------------------------------------

def test_committee_record_binds_the_registry_digest_and_signatures(gov_inventory, capsys):
    model = gov_inventory.add_model("parser", tier="high", files={"a.bin": b"a", "b.bin": b"b"})
    root = str(gov_inventory.root)
    assert aisec("committee", "record", "--model", "parser", "--decision", "defer",
                 "--until", "2027-01-15", "--rationale", "await vendor answers",
                 "--member", "Ada Byron", "--member", "Alan Turing", "--condition", "re-scan",
                 "--inventory", root) == 0
    out = capsys.readouterr().out
    assert "record 1" in out and "(unsigned: a restriction binds anyway)" in out
    assert aisec("committee", "record", "--model", "parser", "--decision", "approve", "--rationale",
                 "vendor answered", "--inventory", root, "--key", key("Priya Raman")) == 0
    out = capsys.readouterr().out
    assert "as record 2" in out and "signed by Priya Raman" in out
    assert "it counts once 2 committee members have signed it: `aisec committee sign 2 --key KEY`" in out
    register = load_register(gov_inventory.root, gov_inventory.policy())
    deferral, approval = register.chain.records
    assert deferral.artifact_sha256 == model.entry.digest and deferral.version == "1.0.0"
    assert deferral.classification.tier == "high"
    assert deferral.members_present == ("Ada Byron", "Alan Turing") and deferral.conditions == ("re-scan",)
    assert str(deferral.defer_until) == "2027-01-15"
    assert register.signers(deferral.hash).names == () and register.signers(approval.hash).names == (
        "Priya Raman",)
    assert aisec("committee", "verify", "--inventory", root) == 0
    out = capsys.readouterr().out
    assert "record 1 defer parser: unsigned; counts" in out
    assert ("record 2 approve parser: signed by Priya Raman; counts as nothing: it is signed by 1 of "
            "the 2 committee members it needs") in out


def test_committee_sign_adds_a_member_signature_once(gov_inventory, capsys):
    gov_inventory.add_model("parser", tier="high")
    root = str(gov_inventory.root)
    assert _approve(root, "parser", "Priya Raman") == 0
    line = _register_lines(root)[0]
    capsys.readouterr()
    assert aisec("committee", "sign", "1", "--key", key("Helen Okafor"), "--inventory", root) == 0
    assert ("record 1 (approve of parser) signed by Helen Okafor; now signed by Priya Raman, "
            "Helen Okafor") in capsys.readouterr().out
    assert aisec("committee", "sign", "1", "--key", key("Helen Okafor"), "--inventory", root) == 0
    record = json.loads(_register_lines(root)[0])
    assert len(record["signatures"]) == 2  # the same key twice is one signature
    assert record["hash"] == json.loads(line)["hash"]  # co-signing changes no hash
    capsys.readouterr()
    assert aisec("committee", "verify", "--inventory", root) == 0
    assert "record 1 approve parser: signed by Priya Raman, Helen Okafor; counts" in capsys.readouterr().out


def test_committee_errors_are_one_line_with_exit_codes(gov_inventory, capsys, tmp_path):
    gov_inventory.add_model("parser")
    root = str(gov_inventory.root)
    record = ("committee", "record", "--model", "parser", "--rationale", "x", "--member", "A B",
              "--inventory", root)
    assert aisec("committee", "record", "--model", "missing-model", "--decision", "approve",
                 "--rationale", "x", "--member", "A B", "--inventory", root) == 2
    assert aisec(*record, "--decision", "defer") == 1
    assert aisec(*record, "--decision", "approve") == 1  # a permission needs --key
    assert aisec(*record, "--decision", "approve", "--key", key("Jonas Weber")) == 1  # no member
    assert aisec(*record, "--decision", "classify", "--key", key("Tomasz Nowak")) == 1  # no owner
    assert aisec(*record, "--decision", "approve", "--key", str(stranger_key(tmp_path))) == 1
    assert aisec(*record, "--decision", "approve", "--key", str(tmp_path / "absent.key")) == 1
    assert aisec("committee", "sign", "7", "--key", key("Helen Okafor"), "--inventory", root) == 1
    err = _one_line_errors(capsys.readouterr().err, 8)
    assert "approve is a permission: it needs a signature (--key FILE or $AISEC_SIGNING_KEY)" in err[2]
    assert "the keyring lists this key for Jonas Weber" in err[3] and "committee_member" in err[3]
    assert "Tomasz Nowak" in err[4] and "governance_owner" in err[4]
    assert "this key is not in the policy's keyring" in err[5]
    assert "cannot read the key file" in err[6]
    assert "the register has no record 7" in err[7]
    assert not (gov_inventory.root / REGISTER_FILE).exists() or not _register_lines(root)
    with pytest.raises(SystemExit) as usage:
        aisec("committee", "record", "--model", "parser", "--decision", "maybe",
              "--rationale", "x", "--member", "A B")
    assert usage.value.code == 2


def test_committee_verify_reports_tampering(gov_inventory, capsys):
    gov_inventory.add_model("parser")
    root = str(gov_inventory.root)
    assert aisec("committee", "record", "--model", "parser", "--decision", "block",
                 "--rationale", "r", "--member", "Ada Byron", "--inventory", root) == 0
    assert _approve(root, "parser", "Priya Raman", "Helen Okafor") == 0
    path = gov_inventory.root / REGISTER_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[1])
    capsys.readouterr()
    assert aisec("committee", "verify", "--inventory", root) == 1
    assert "committee register tampered at line 1" in _one_line_errors(capsys.readouterr().err, 1)[0]


# --- malformed records: every verify command reports the line, never a traceback --------------------

def _garbage_line(records, signed):
    return [*map(json.dumps, records), "{garbage"]


def _signatures_not_a_list(records, signed):
    records[signed]["signatures"] = "Priya Raman, Helen Okafor"
    return list(map(json.dumps, records))


def _sig_not_base64(records, signed):
    records[signed]["signatures"][0]["sig"] = "not base64 at all!"
    return list(map(json.dumps, records))


# what to break -> (how, what the verify command's message says, whether it names the signed line)
MALFORMED = {"garbage JSON line": (_garbage_line, "not valid JSON", False),
             "signatures not a list": (_signatures_not_a_list, "signatures", True),
             "sig not base64": (_sig_not_base64, "does not verify", True)}


@pytest.mark.parametrize("ledger, verify", [
    (REGISTER_FILE, ("committee", "verify")),
    (INCIDENT_FILE, ("incident", "verify")),
    (POLICY_LOG, ("policy", "verify")),
])
@pytest.mark.parametrize("malformation", list(MALFORMED))
def test_verify_commands_report_malformed_records_without_a_traceback(
        gov_inventory, capsys, ledger, verify, malformation):
    root = str(gov_inventory.root)
    gov_inventory.add_model("parser")
    assert _approve(root, "parser", "Priya Raman", "Helen Okafor") == 0
    assert aisec("incident", "open", "--model", "parser", "--severity", "high", "--what", "x",
                 "--actor", "Grace Hopper", "--inventory", root) == 0
    assert aisec("incident", "close", "--id", "INC-0001", "--what", "fixed", "--actor",
                 "Helen Okafor", "--key", key("Helen Okafor"), "--inventory", root) == 0
    capsys.readouterr()
    assert aisec(*verify, "--inventory", root) == 0
    path = gov_inventory.root / ledger
    records = [json.loads(line) for line in path.read_text().splitlines()]
    signed = 1 if ledger == INCIDENT_FILE else 0  # the signed close, the signed approval / version
    change, words, on_signed_line = MALFORMED[malformation]
    path.write_text("\n".join(change(records, signed)) + "\n")
    line = signed + 1 if on_signed_line else len(records) + 1
    capsys.readouterr()
    assert aisec(*verify, "--inventory", root) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    if ledger == POLICY_LOG and malformation == "sig not base64":
        words = "1 of the 2 signatures"  # the version no longer has its owners' threshold
    assert words in captured.err, captured.err
    assert f"line {line}" in captured.err or f"version {line}" in captured.err, captured.err


# --- incidents ------------------------------------------------------------------------------------

def test_incident_lifecycle(gov_inventory, capsys, tmp_path):
    gov_inventory.add_model("chat", version="0.3.0")
    root = str(gov_inventory.root)
    assert aisec("incident", "open", "--model", "chat", "--severity", "serious",
                 "--what", "leaked a customer address", "--aware-at", "2026-11-20T08:00:00Z",
                 "--circumstance", "widespread_infringement", "--actor", "Grace Hopper",
                 "--inventory", root) == 0
    out = capsys.readouterr().out
    assert "INC-0001 open: chat 0.3.0" in out and "report due 2026-11-22T08:00:00+00:00" in out
    reported = ("incident", "update", "--id", "INC-0001", "--what", "authority notified",
                "--reported-at", "2026-11-21T09:00:00+01:00", "--actor", "Helen Okafor", "--inventory", root)
    assert aisec(*reported) == 1, "an unsigned 'reported' would silence the Art. 73 deadline"
    assert "needs a signature" in capsys.readouterr().err
    assert aisec(*reported, "--key", str(demo_key("Helen Okafor"))) == 0
    assert "reported 2026-11-21T09:00:00+01:00" in capsys.readouterr().out
    assert aisec("incident", "list", "--inventory", root) == 0
    assert "INC-0001 open" in capsys.readouterr().out
    downgrade = ("incident", "update", "--id", "INC-0001", "--what", "fewer affected",
                 "--severity", "high", "--actor", "Helen Okafor", "--inventory", root)
    close = ("incident", "close", "--id", "INC-0001", "--what", "prompt fixed",
             "--actor", "Helen Okafor", "--inventory", root)
    assert aisec(*downgrade) == 1  # lowering the severity is a permission: it needs a key
    assert aisec(*close) == 1
    assert aisec(*close, "--key", key("Priya Raman")) == 1  # not an incident handler
    assert aisec(*close, "--key", str(stranger_key(tmp_path))) == 1
    err = _one_line_errors(capsys.readouterr().err, 4)
    assert "closing an incident, lowering its severity" in err[0] and "it needs a signature" in err[0]
    assert "closing an incident, lowering its severity" in err[1]
    assert "Priya Raman" in err[2] and "incident_handler" in err[2]
    assert "not in the policy's keyring" in err[3]
    assert len(load_incidents(gov_inventory.root, gov_inventory.policy().people).incidents[0].events) == 2
    assert aisec(*downgrade, "--key", key("Helen Okafor")) == 0
    assert "INC-0001 open: chat 0.3.0, high" in capsys.readouterr().out
    assert aisec(*close, "--key", key("Helen Okafor")) == 0
    assert not load_incidents(gov_inventory.root, gov_inventory.policy().people).incidents[0].is_open
    assert aisec("incident", "verify", "--inventory", root) == 0
    out = capsys.readouterr().out
    assert "event 1 open INC-0001: unsigned" in out
    assert "event 3 update INC-0001: signed by Helen Okafor" in out
    assert "event 4 close INC-0001: signed by Helen Okafor" in out
    assert aisec("incident", "open", "--model", "chat", "--severity", "low", "--what", "x",
                 "--circumstance", "alien_invasion", "--actor", "A B", "--inventory", root) == 2
    with pytest.raises(SystemExit):
        aisec("incident", "open", "--model", "chat", "--severity", "low", "--what", "x",
              "--aware-at", "2026-11-20T08:00", "--actor", "A B", "--inventory", root)


def test_closing_a_closed_incident_is_refused_and_leaves_the_log_valid(gov_inventory, capsys):
    gov_inventory.add_model("chat")
    root = str(gov_inventory.root)
    assert aisec("incident", "open", "--model", "chat", "--severity", "serious", "--what", "x",
                 "--actor", "Grace Hopper", "--inventory", root) == 0
    close = ("incident", "close", "--id", "INC-0001", "--what", "fixed", "--actor", "Helen Okafor",
             "--key", key("Helen Okafor"), "--inventory", root)
    assert aisec(*close) == 0
    assert aisec(*close) == 1  # already closed: refused, nothing written
    assert "already closed" in capsys.readouterr().err
    assert aisec("incident", "verify", "--inventory", root) == 0


def test_command_modules_import_only_the_standard_library():
    code = ("import sys, json; import aisec_pipeline.governance.command; "
            "import aisec_pipeline.governance.trust_command; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pydantic', 'yaml', 'dagster', 'garak', 'torch', 'pandas', 'securesystemslib', "
            "'cryptography'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("ledger, noun", [(REGISTER_FILE, "committee"), (INCIDENT_FILE, "incident")])
def test_verify_base_finds_records_the_protected_copy_has_and_this_one_lost(
        gov_inventory, tmp_path, capsys, ledger, noun):
    gov_inventory.add_model("parser")
    root = str(gov_inventory.root)
    if noun == "committee":
        assert _approve(root, "parser", "Priya Raman", "Helen Okafor") == 0
        assert aisec("committee", "record", "--model", "parser", "--decision", "block",
                     "--rationale", "reviewed", "--member", "Ada Byron", "--inventory", root) == 0
    else:
        assert aisec("incident", "open", "--model", "parser", "--severity", "serious", "--what",
                     "x", "--actor", "Grace Hopper", "--inventory", root) == 0
        assert aisec("incident", "open", "--model", "parser", "--severity", "serious", "--what",
                     "y", "--actor", "Grace Hopper", "--inventory", root) == 0
    path = gov_inventory.root / ledger
    base = tmp_path / "main-copy.jsonl"
    base.write_text(path.read_text())
    assert aisec(noun, "verify", "--base", str(base), "--inventory", root) == 0
    path.write_text(path.read_text().splitlines(keepends=True)[0])  # the second record is gone
    capsys.readouterr()
    assert aisec(noun, "verify", "--base", str(base), "--inventory", root) == 1
    assert "record 2 of the base" in _one_line_errors(capsys.readouterr().err, 1)[0]


# --- policy and keys ------------------------------------------------------------------------------

def test_policy_verify_passes_on_the_demo_inventory_and_names_an_unsigned_change(
        inventory_copy, capsys):
    root = str(inventory_copy)
    for verify in (("policy", "verify"), ("committee", "verify"), ("incident", "verify")):
        assert aisec(*verify, "--inventory", root) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "policy.yaml is signed version 1 (signed by Priya Raman, Helen Okafor)" in out
    assert "NOT pinned" in out
    policy_path = inventory_copy / POLICY_FILE
    policy = yaml.safe_load(policy_path.read_text())
    policy["tiers"]["low"]["bias"]["max_difference"] = 1.0
    policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))
    assert aisec("policy", "verify", "--inventory", root) == 1
    err = _one_line_errors(capsys.readouterr().err, 1)[0]
    assert "differs from signed policy version 1: tiers.low.bias.max_difference: 0.2 -> 1.0" in err
    assert aisec("policy", "verify", "--root", "0" * 64, "--inventory", root) == 1
    assert "is not the pinned root" in capsys.readouterr().err


def test_policy_sign_proposes_then_co_signs_a_version(gov_inventory, capsys):
    root = str(gov_inventory.root)

    def stricter(policy):
        policy["tiers"]["low"]["bias"]["max_difference"] = 0.1
    gov_inventory.edit_yaml(POLICY_FILE, stricter, sign=False)
    assert aisec("policy", "sign", "--key", key("Jonas Weber"), "--inventory", root) == 1
    assert aisec("policy", "sign", "--inventory", root) == 2  # no key at all: usage
    _one_line_errors(capsys.readouterr().err, 2)
    assert aisec("policy", "sign", "--key", key("Priya Raman"), "--inventory", root) == 0
    out = capsys.readouterr().out
    assert "Priya Raman proposed as version 2" in out and "awaits signatures" in out
    assert aisec("policy", "verify", "--inventory", root) == 1
    assert "policy version 2 awaits signatures: 1 of the 2" in capsys.readouterr().err
    assert aisec("policy", "sign", "--key", key("Helen Okafor"), "--inventory", root) == 0
    assert "Helen Okafor co-signed version 2" in capsys.readouterr().out
    assert aisec("policy", "verify", "--inventory", root) == 0
    assert "policy.yaml is signed version 2" in capsys.readouterr().out


def test_key_generate_writes_a_private_key_and_prints_its_keyring_entry(gov_inventory, tmp_path,
                                                                         capsys):
    path = tmp_path / "keys" / "nadia.key"
    assert aisec("key", "generate", "--out", str(path), "--name", "Nadia Smith",
                 "--role", "committee_member", "--role", "card_reviewer") == 0
    assert os.stat(path).st_mode & 0o777 == 0o600
    out = capsys.readouterr().out
    assert str(path) in out and "BEGIN PUBLIC KEY" in out and "PRIVATE" not in out
    entry = yaml.safe_load(out.split("\n\n", 1)[1])["keyring"][0]
    person = Person.model_validate(entry)
    assert person.name == "Nadia Smith" and person.roles == ("committee_member", "card_reviewer")
    assert person.keyids == (load_signer(path).public_key.keyid,)
    before = path.read_bytes()
    assert aisec("key", "generate", "--out", str(path), "--name", "Nadia Smith",
                 "--role", "card_reviewer") == 1
    assert "refusing to overwrite" in _one_line_errors(capsys.readouterr().err, 1)[0]
    assert path.read_bytes() == before
    # The printed entry is what a governance owner adds; once signed, the key signs as Nadia.
    gov_inventory.add_model("parser")
    root = str(gov_inventory.root)
    approve = ("committee", "record", "--model", "parser", "--decision", "approve",
               "--rationale", "ok", "--key", str(path), "--inventory", root)
    assert aisec(*approve) == 1
    assert "not in the policy's keyring" in capsys.readouterr().err
    gov_inventory.edit_yaml(POLICY_FILE, lambda policy: policy["keyring"].append(entry))
    assert aisec(*approve) == 0
    assert "signed by Nadia Smith" in capsys.readouterr().out


def test_an_encrypted_key_needs_its_passphrase_from_the_environment(gov_inventory, tmp_path,
                                                                     capsys, monkeypatch):
    path = tmp_path / "secret.key"
    monkeypatch.setenv("AISEC_KEY_PASSPHRASE", "correct horse battery staple")
    assert aisec("key", "generate", "--out", str(path), "--name", "Nadia Smith",
                 "--role", "committee_member") == 0
    assert path.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert "correct horse" not in capsys.readouterr().out
    monkeypatch.delenv("AISEC_KEY_PASSPHRASE")
    gov_inventory.add_model("parser")
    assert aisec("committee", "record", "--model", "parser", "--decision", "approve", "--rationale",
                 "ok", "--key", str(path), "--inventory", str(gov_inventory.root)) == 1
    assert "set $AISEC_KEY_PASSPHRASE" in _one_line_errors(capsys.readouterr().err, 1)[0]


def test_the_signing_key_may_come_from_the_environment(gov_inventory, capsys, monkeypatch):
    gov_inventory.add_model("parser")
    monkeypatch.setenv("AISEC_SIGNING_KEY", key("Tomasz Nowak"))
    assert aisec("committee", "record", "--model", "parser", "--decision", "approve",
                 "--rationale", "ok", "--inventory", str(gov_inventory.root)) == 0
    assert "signed by Tomasz Nowak" in capsys.readouterr().out
