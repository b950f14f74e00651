"""The demo's signed governance files are what scripts/demo_governance.py makes, and they verify:
an edit of the demo policy or a demo ledger that nobody re-signed fails here first, naming the fix."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from aisec_pipeline.cli import main

REPO = Path(__file__).resolve().parents[2]
FILES = ("policies/policy_log.jsonl", "committee/decisions.jsonl", "reviews/card_reviews.jsonl")


def _script():
    spec = importlib.util.spec_from_file_location("demo_governance", REPO / "scripts" / "demo_governance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_ledgers_are_reproducible(tmp_path):
    copy = tmp_path / "assets"
    shutil.copytree(REPO / "assets", copy, ignore=shutil.ignore_patterns("artifacts", "data"))
    _script().write_ledgers(copy)
    for relative in FILES:
        assert (copy / relative).read_bytes() == (REPO / "assets" / relative).read_bytes(), (
            f"assets/{relative} is not what scripts/demo_governance.py signs: run "
            "`.venv/bin/python scripts/demo_governance.py ledgers` after changing the demo policy")


def test_the_demo_policy_and_ledgers_verify(capsys):
    inventory = str(REPO / "assets")
    assert main(["policy", "verify", "--inventory", inventory]) == 0, capsys.readouterr().err
    assert "warning: the policy's keyring trusts published DEMO keys" in capsys.readouterr().out
    assert main(["committee", "verify", "--inventory", inventory]) == 0
    out = capsys.readouterr().out
    assert "record 1 block invoice-parser-legacy: signed by Priya Raman, Helen Okafor; counts" in out
