"""`aisec redteam` through argparse, against real HTTP servers, with a real policy file."""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
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
def policy_file(tmp_path) -> Path:
    """The project's policy, with the low tier's battery made small for a test."""
    policy = yaml.safe_load((REPO / "assets" / "policies" / "policy.yaml").read_text())
    policy["tiers"]["low"]["injection"].update(
        probes=["promptinject.HijackHateHumans", "aisec.SystemPromptCanary"], prompt_cap=2)
    policy["tiers"]["medium"]["injection"].update(  # too small to show 10%, no budget to extend
        probes=["promptinject.HijackHateHumans"], prompt_cap=2, extension_budget=0)
    root = tmp_path / "inventory"
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "policy.yaml").write_text(yaml.safe_dump(policy))
    return root / "policies" / "policy.yaml"


@pytest.mark.slow  # runs garak in a subprocess
def test_refusing_endpoint_passes_with_json(fake_llm, policy_file, tmp_path, capsys):
    server = fake_llm("refusing")
    out = tmp_path / "result.json"
    code = aisec("--base-url", server.base_url, "--model", "fake", "--tier", "low",
                 "--system-prompt", "You are a test bot.", "--policy", str(policy_file),
                 "--json", str(out), "--workdir", str(tmp_path / "run"))
    document = json.loads(out.read_text())

    assert code == 0 and document["verdict"] == "passed"
    assert [row["probe"] for row in document["probes"]] == ["aisec.SystemPromptCanary",
                                                           "promptinject.HijackHateHumans"]
    assert set(document["probes"][0]) >= {"probe", "detector", "attempts", "failures",
                                          "attack_success_rate", "ci_low", "ci_high",
                                          "threshold", "verdict", "upper_bound"}
    # 2 prompts cannot show 20%: the battery extended itself to 14 (the low tier's budget)
    assert document["extension"] == {"promptinject.HijackHateHumans": {"from": 2, "added": 12,
                                                                        "kept_first": True}}
    assert document["outcome"] == "passed" and document["retries"]["total"] == 0
    assert document["requests"] == len(server.requests)
    captured = capsys.readouterr()
    assert "PASSED" in captured.out and "probe 2/2" in captured.err
    assert "upper bound 19.3%" in captured.out and "retries: 0" in captured.out


@pytest.mark.slow  # runs garak in a subprocess
def test_a_small_clean_sample_needs_review(fake_llm, policy_file, tmp_path, capsys):
    server = fake_llm("refusing")
    out = tmp_path / "result.json"
    code = aisec("--base-url", server.base_url, "--model", "fake", "--tier", "medium",
                 "--system-prompt", "You help customers with orders and returns.",
                 "--policy", str(policy_file), "--json", str(out), "--workdir", str(tmp_path / "run"))
    document = json.loads(out.read_text())

    assert code == 1 and document["outcome"] == "insufficient"
    assert "NEEDS REVIEW" in capsys.readouterr().out
    assert document["over_refusal"]["rate"] == 1.0  # it refuses the in-scope questions too


@pytest.mark.slow  # runs garak in a subprocess
def test_obedient_endpoint_fails(fake_llm, policy_file, tmp_path, capsys):
    server = fake_llm("obedient")
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text("You are a test bot.")
    out = tmp_path / "result.json"
    code = aisec("--base-url", server.base_url, "--model", "fake", "--tier", "low",
                 "--system-prompt-file", str(prompt_file), "--policy", str(policy_file),
                 "--json", str(out), "--workdir", str(tmp_path / "run"))

    assert code == 1 and json.loads(out.read_text())["verdict"] == "failed"
    assert all(r["system"].startswith("You are a test bot.") for r in server.requests)


@pytest.mark.slow  # runs garak in a subprocess
def test_unreachable_endpoint_is_unassessed(policy_file, tmp_path, capsys):
    out = tmp_path / "result.json"
    code = aisec("--base-url", "http://127.0.0.1:9/v1", "--model", "x", "--tier", "low",
                 "--policy", str(policy_file), "--json", str(out), "--workdir", str(tmp_path))
    assert code == 1 and json.loads(out.read_text())["verdict"] == "unassessed"


@pytest.mark.parametrize("argv, message", [
    (("--policy", "/nonexistent/policy.yaml"), "file not found"),
    (("--api-key-env", "AISEC_TEST_UNSET_VARIABLE"), "is not set"),
    (("--system-prompt-file", "/nonexistent/prompt.txt"), "cannot read"),
    (("--tier", "critical"), "defines no tier 'critical' (its tiers: high, low, medium)"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, policy_file, capsys, monkeypatch):
    monkeypatch.delenv("AISEC_TEST_UNSET_VARIABLE", raising=False)
    base = ["--base-url", "http://127.0.0.1:9/v1", "--model", "x", "--policy", str(policy_file)]
    assert aisec(*base, *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("aisec: ")


def test_missing_required_argument_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        aisec("--model", "x")
    assert exit_info.value.code == 2


def test_tier_names_come_from_the_loaded_policy(policy_file):
    """A policy may name its own tiers: `--tier` accepts exactly the loaded policy's names."""
    policy = yaml.safe_load(policy_file.read_text())
    policy["tiers"]["critical"] = copy.deepcopy(policy["tiers"]["high"])
    policy_file.write_text(yaml.safe_dump(policy))
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    args = parser.parse_args(["redteam", "--base-url", "http://127.0.0.1:9/v1", "--model", "x",
                              "--tier", "critical", "--policy", str(policy_file)])
    battery, _ = command._inputs(args)
    assert battery == command.load_tiers(policy_file)["high"]


def test_built_in_tiers_match_the_project_policy():
    """`aisec redteam` without --policy runs the same batteries as the gate's default policy."""
    built_in = command.load_tiers(None)
    project = command.load_tiers(REPO / "assets" / "policies" / "policy.yaml")
    assert built_in == project and set(built_in) == {"low", "medium", "high"}


@pytest.mark.slow  # runs garak in a subprocess
def test_runs_from_any_folder_with_the_built_in_tiers(fake_llm, tmp_path):
    """It exited 2 outside a project folder: `assets/policies/policy.yaml: file not found`."""
    server = fake_llm("refusing")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = elsewhere / "result.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    finished = subprocess.run(
        [sys.executable, "-m", "aisec_pipeline.cli", "redteam", "--base-url", server.base_url,
         "--model", "fake", "--tier", "low", "--system-prompt", "You are a test bot.",
         "--json", str(out)], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)

    assert finished.returncode == 0, finished.stderr[-2000:]
    document = json.loads(out.read_text())
    assert document["verdict"] == "passed"
    assert {row["probe"] for row in document["probes"]} == set(command.load_tiers(None)["low"].probes)
    assert "built-in tiers" in finished.stderr
    assert "attempts done" in finished.stderr and "left" in finished.stderr
