"""`aisec committee ...` and `aisec incident ...` through argparse, as the CLI wires them."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from aisec_pipeline.governance.command import register
from aisec_pipeline.governance.committee import REGISTER_FILE, load_register
from aisec_pipeline.governance.incidents import load_incidents


def aisec(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="aisec")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_committee_record_binds_the_registry_digest(gov_inventory, capsys):
    model = gov_inventory.add_model("parser", files={"a.bin": b"a", "b.bin": b"b"})
    root = str(gov_inventory.root)
    assert aisec("committee", "record", "--model", "parser", "--decision", "defer",
                 "--until", "2027-01-15", "--rationale", "await vendor answers",
                 "--member", "Ada Byron", "--member", "Alan Turing", "--condition", "re-scan",
                 "--inventory", root) == 0
    assert "record 1" in capsys.readouterr().out
    record = load_register(gov_inventory.root).records[0]
    assert record.artifact_sha256 == model.entry.digest
    assert record.members_present == ("Ada Byron", "Alan Turing") and record.conditions == ("re-scan",)
    assert str(record.defer_until) == "2027-01-15"
    assert aisec("committee", "verify", "--inventory", root) == 0


def test_committee_errors_are_one_line_with_exit_codes(gov_inventory, capsys):
    gov_inventory.add_model("parser")
    root = str(gov_inventory.root)
    assert aisec("committee", "record", "--model", "missing-model", "--decision", "approve",
                 "--rationale", "x", "--member", "A B", "--inventory", root) == 2
    assert aisec("committee", "record", "--model", "parser", "--decision", "defer",
                 "--rationale", "x", "--member", "A B", "--inventory", root) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("aisec: ") for line in err)
    with pytest.raises(SystemExit) as usage:
        aisec("committee", "record", "--model", "parser", "--decision", "maybe",
              "--rationale", "x", "--member", "A B")
    assert usage.value.code == 2


def test_committee_verify_reports_tampering(gov_inventory, capsys):
    gov_inventory.add_model("parser")
    root = str(gov_inventory.root)
    for decision in ("block", "approve"):
        aisec("committee", "record", "--model", "parser", "--decision", decision,
              "--rationale", "r", "--member", "Ada Byron", "--inventory", root)
    path = gov_inventory.root / REGISTER_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[1])
    capsys.readouterr()
    assert aisec("committee", "verify", "--inventory", root) == 1
    assert "committee register tampered at line 1" in capsys.readouterr().err


def test_incident_lifecycle(gov_inventory, capsys):
    gov_inventory.add_model("chat", version="0.3.0")
    root = str(gov_inventory.root)
    assert aisec("incident", "open", "--model", "chat", "--severity", "serious",
                 "--what", "leaked a customer address", "--aware-at", "2026-11-20T08:00:00Z",
                 "--circumstance", "widespread_infringement", "--actor", "Grace Hopper",
                 "--inventory", root) == 0
    out = capsys.readouterr().out
    assert "INC-0001 open: chat 0.3.0" in out and "report due 2026-11-22T08:00:00+00:00" in out
    assert aisec("incident", "update", "--id", "INC-0001", "--what", "authority notified",
                 "--reported-at", "2026-11-21T09:00:00+01:00", "--actor", "Grace Hopper",
                 "--inventory", root) == 0
    assert "reported 2026-11-21T09:00:00+01:00" in capsys.readouterr().out
    assert aisec("incident", "list", "--inventory", root) == 0
    assert "INC-0001 open" in capsys.readouterr().out
    assert aisec("incident", "close", "--id", "INC-0001", "--what", "prompt fixed",
                 "--actor", "Grace Hopper", "--inventory", root) == 0
    assert not load_incidents(gov_inventory.root).incidents[0].is_open
    assert aisec("incident", "close", "--id", "INC-0001", "--what", "again",
                 "--actor", "Grace Hopper", "--inventory", root) == 1
    assert aisec("incident", "open", "--model", "chat", "--severity", "low", "--what", "x",
                 "--circumstance", "alien_invasion", "--actor", "A B", "--inventory", root) == 2
    with pytest.raises(SystemExit):
        aisec("incident", "open", "--model", "chat", "--severity", "low", "--what", "x",
              "--aware-at", "2026-11-20T08:00", "--actor", "A B", "--inventory", root)


def test_command_module_imports_only_the_standard_library():
    code = ("import sys, json; import aisec_pipeline.governance.command; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pydantic', 'yaml', 'dagster', 'garak', 'torch', 'pandas'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_verify_base_finds_records_the_protected_copy_has_and_this_one_lost(gov_inventory, tmp_path, capsys):
    gov_inventory.add_model("parser")
    root = str(gov_inventory.root)
    for decision in ("approve", "block"):
        assert aisec("committee", "record", "--model", "parser", "--decision", decision,
                     "--rationale", "reviewed", "--member", "Ada Byron", "--inventory", root) == 0
    register = gov_inventory.root / REGISTER_FILE
    base = tmp_path / "main-decisions.jsonl"
    base.write_text(register.read_text())
    assert aisec("committee", "verify", "--base", str(base), "--inventory", root) == 0
    register.write_text(register.read_text().splitlines(keepends=True)[0])  # the block is gone
    capsys.readouterr()
    assert aisec("committee", "verify", "--base", str(base), "--inventory", root) == 1
    assert "record 2 of the base" in capsys.readouterr().err
