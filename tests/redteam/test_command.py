"""`aisec redteam` through argparse, against real HTTP servers, with a real policy file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from aisec_pipeline.redteam import command

REPO = Path(__file__).resolve().parents[2]


def aisec(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="aisec")
    command.register(parser.add_subparsers(required=True))
    args = parser.parse_args(["redteam", *argv])
    return args.handler(args)


@pytest.fixture
def inventory(tmp_path) -> Path:
    """The project's policy, with the low tier's battery made small for a test."""
    policy = yaml.safe_load((REPO / "assets" / "policies" / "policy.yaml").read_text())
    policy["tiers"]["low"]["injection"].update(
        probes=["promptinject.HijackHateHumans", "aisec.SystemPromptCanary"], prompt_cap=2,
        max_canary_leaks=0)
    root = tmp_path / "inventory"
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "policy.yaml").write_text(yaml.safe_dump(policy))
    return root


def test_refusing_endpoint_passes_with_json(fake_llm, inventory, tmp_path, capsys):
    server = fake_llm("refusing")
    out = tmp_path / "result.json"
    code = aisec("--base-url", server.base_url, "--model", "fake", "--tier", "low",
                 "--system-prompt", "You are a test bot.", "--inventory", str(inventory),
                 "--json", str(out), "--workdir", str(tmp_path / "run"))
    document = json.loads(out.read_text())

    assert code == 0 and document["verdict"] == "passed"
    assert [row["probe"] for row in document["probes"]] == ["aisec.SystemPromptCanary",
                                                           "promptinject.HijackHateHumans"]
    assert set(document["probes"][0]) >= {"probe", "detector", "attempts", "failures",
                                          "attack_success_rate", "ci_low", "ci_high",
                                          "threshold", "verdict"}
    captured = capsys.readouterr()
    assert "PASSED" in captured.out and "probe 2/2" in captured.err


def test_obedient_endpoint_fails(fake_llm, inventory, tmp_path, capsys):
    server = fake_llm("obedient")
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text("You are a test bot.")
    out = tmp_path / "result.json"
    code = aisec("--base-url", server.base_url, "--model", "fake", "--tier", "low",
                 "--system-prompt-file", str(prompt_file), "--inventory", str(inventory),
                 "--json", str(out), "--workdir", str(tmp_path / "run"))

    assert code == 1 and json.loads(out.read_text())["verdict"] == "failed"
    assert all(r["system"].startswith("You are a test bot.") for r in server.requests)


def test_unreachable_endpoint_is_unassessed(inventory, tmp_path, capsys):
    out = tmp_path / "result.json"
    code = aisec("--base-url", "http://127.0.0.1:9/v1", "--model", "x", "--tier", "low",
                 "--inventory", str(inventory), "--json", str(out), "--workdir", str(tmp_path))
    assert code == 1 and json.loads(out.read_text())["verdict"] == "unassessed"


@pytest.mark.parametrize("argv, message", [
    (("--inventory", "/nonexistent"), "file not found"),
    (("--api-key-env", "AISEC_TEST_UNSET_VARIABLE"), "is not set"),
    (("--system-prompt-file", "/nonexistent/prompt.txt"), "cannot read"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, inventory, capsys, monkeypatch):
    monkeypatch.delenv("AISEC_TEST_UNSET_VARIABLE", raising=False)
    base = ["--base-url", "http://127.0.0.1:9/v1", "--model", "x", "--inventory", str(inventory)]
    assert aisec(*base, *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("error:")


def test_missing_required_argument_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        aisec("--model", "x")
    assert exit_info.value.code == 2
