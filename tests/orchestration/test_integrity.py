"""The gate's seams, tried as an attacker editing files and as a CI user running gates at once:
removed restrictions keep binding, inventories never call each other tampered, concurrent gates
agree, signals end the gate cleanly, nonsense is refused. Real Dagster instances, real processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from aisec_pipeline.cli import main
from fake_llm import FakeLLM
from gate_runs import gate_in_parallel
from inventory_builder import add_llm, add_model, new_inventory, safetensors_bytes
from signing import demo_key

pytestmark = pytest.mark.slow

MEMBERS = ["--member", "Priya Raman", "--member", "Tomasz Nowak"]


def approve(root, rationale: str, *extra: str) -> int:
    """A committee approval signed by the quorum (Priya Raman records, Tomasz Nowak co-signs)."""
    code = main(["committee", "record", "--model", "clean-model", "--decision", "approve",
                 "--rationale", rationale, *MEMBERS, "--key", str(demo_key("Priya Raman")),
                 *extra, "--inventory", str(root)])
    if code:
        return code
    from aisec_pipeline.governance.committee import REGISTER_FILE
    seq = len((root / REGISTER_FILE).read_text().splitlines())
    return main(["committee", "sign", str(seq), "--key", str(demo_key("Tomasz Nowak")),
                 "--inventory", str(root)])


@pytest.fixture
def inventory(tmp_path):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path))
    return root


def gate(root: Path, tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "gate.json"
    code = main(["gate", *args, "--inventory", str(root), "--json", str(out)])
    return code, {m["name"]: m for m in json.loads(out.read_text())["models"]}


def drop_last_line(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def test_a_deleted_committee_block_binds_on_every_later_gate(inventory, tmp_path, dagster_home, capsys):
    assert main(["committee", "record", "--model", "clean-model", "--decision", "block",
                 "--rationale", "trained on data we may not use", *MEMBERS,
                 "--inventory", str(inventory)]) == 0
    code, models = gate(inventory, tmp_path, "clean-model")
    assert code == 1 and any("may not use" in r for r in models["clean-model"]["reasons"])
    drop_last_line(inventory / "committee" / "decisions.jsonl")
    for _ in range(2):
        code, models = gate(inventory, tmp_path, "clean-model")
        reasons = models["clean-model"]["reasons"]
        assert code == 1 and any("may not use" in r and "removed from the register" in r
                                 for r in reasons), reasons
    capsys.readouterr()
    assert main(["committee", "verify", "--inventory", str(inventory)]) == 1
    assert "no longer in the register" in capsys.readouterr().err


def test_a_deleted_open_serious_incident_binds_on_every_later_gate(inventory, tmp_path, dagster_home,
                                                                   capsys):
    assert main(["incident", "open", "--model", "clean-model", "--severity", "serious",
                 "--actor", "Helen Okafor", "--what", "wrong totals paid to suppliers",
                 "--inventory", str(inventory)]) == 0
    assert gate(inventory, tmp_path, "clean-model")[0] == 1
    drop_last_line(inventory / "incidents" / "incidents.jsonl")
    for _ in range(2):
        code, models = gate(inventory, tmp_path, "clean-model")
        reasons = models["clean-model"]["reasons"]
        assert code == 1 and any("wrong totals" in r and "no longer in the incident log" in r
                                 for r in reasons), reasons
    capsys.readouterr()
    assert main(["incident", "verify", "--inventory", str(inventory)]) == 1
    assert "INC-0001" in capsys.readouterr().err


def test_two_inventories_with_different_registers_never_see_each_other_as_tampered(
        inventory, tmp_path, dagster_home):
    branch = tmp_path / "branch" / "assets"
    shutil.copytree(inventory, branch)
    for root, rationale in ((inventory, "reviewed on main"), (branch, "reviewed on the branch")):
        assert approve(root, rationale) == 0
    for root in (inventory, branch, inventory, branch):
        code, models = gate(root, tmp_path, "clean-model")
        assert code == 0, models["clean-model"]["reasons"]
        assert not any("tampered" in r for r in models["clean-model"]["reasons"])


def test_concurrent_gates_of_one_model_agree(inventory, tmp_path, dagster_home):
    for run in gate_in_parallel(inventory, tmp_path):
        assert run.decision is not None, (run.code, run.stderr[-3000:])
        assert run.code == 0, (run.decision["reasons"], run.stderr[-2000:])
        assert run.decision["decision"] == "approved"
        assert "Traceback" not in run.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_gate_its_children_and_approves_nothing(tmp_path, dagster_home, signum):
    root = new_inventory(tmp_path / "assets")
    weights = safetensors_bytes(tmp_path)
    with FakeLLM("slow", delay=30) as slow:
        add_llm(root, "a-slow-bot", weights, slow.base_url)
        add_model(root, "b-clean-model", weights)
        out = tmp_path / "gate.json"
        proc = subprocess.Popen([sys.executable, "-m", "aisec_pipeline.cli", "gate", "--all",
                                 "--inventory", str(root), "--json", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        children = _children_once_busy(proc, slow)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr[-3000:]
    assert "Traceback" not in stderr
    assert f"interrupted by signal {int(signum)}" in stderr and stderr.count("interrupted by signal") == 1
    assert "b-clean-model" not in stdout, "the gate went on to the next model"
    decided = json.loads(out.read_text())["models"]
    assert [m["name"] for m in decided] == ["a-slow-bot"]
    assert decided[0]["decision"] == "blocked" and "interrupted" in decided[0]["reasons"][0]
    time.sleep(1)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE], \
        "child processes (garak) outlived the gate"


def _children_once_busy(proc: subprocess.Popen, server: FakeLLM, timeout: float = 240):
    """Wait until the battery is talking to the slow server; return the gate's child processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(server.requests) >= 2 and proc.poll() is None:
            return psutil.Process(proc.pid).children(recursive=True)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.5)
    raise AssertionError("the battery never reached the endpoint")


@pytest.mark.parametrize("field, bad, words", [
    ("artifacts.0.path", "../../escape.bin", "artifacts.0.path"),
    ("card", "/etc/passwd", "card:"),
])
def test_escaping_paths_name_their_field(inventory, field, bad, words, capsys):
    import yaml

    entry_file = inventory / "models" / "clean-model" / "model.yaml"
    entry = yaml.safe_load(entry_file.read_text())
    if field == "card":
        entry["card"] = bad
    else:
        entry["artifacts"][0]["path"] = bad
    entry_file.write_text(yaml.safe_dump(entry))
    assert main(["models", "--inventory", str(inventory)]) == 2
    assert words in capsys.readouterr().err


def test_an_oversized_registry_entry_is_refused_at_once(inventory, capsys, dagster_home):
    entry_file = inventory / "models" / "clean-model" / "model.yaml"
    with entry_file.open("a") as handle:
        handle.write("# " + "x" * (50 * 1024 * 1024) + "\n")
    started = time.monotonic()
    assert main(["gate", "--all", "--inventory", str(inventory)]) == 2
    assert time.monotonic() - started < 60
    assert "byte limit" in capsys.readouterr().err


def test_incident_actor_must_be_a_named_person(inventory, capsys):
    for actor in ("x", "ML Team"):
        assert main(["incident", "open", "--model", "clean-model", "--severity", "low",
                     "--actor", actor, "--what", "odd output", "--inventory", str(inventory)]) == 1
        err = capsys.readouterr().err
        assert "actor" in err and "not a named person" in err, err
    log = inventory / "incidents" / "incidents.jsonl"
    assert not log.exists() or log.read_text() == "", "a refused event was written"


def test_committee_decisions_cannot_be_dated_ahead(inventory, capsys):
    assert approve(inventory, "ok", "--decided-on", "2031-01-01") == 1
    assert "cannot be dated in the future" in capsys.readouterr().err


def test_a_policy_rolled_back_after_a_gate_saw_a_newer_version_blocks(inventory, tmp_path, dagster_home):
    import yaml
    from signing import resign_policy
    policy, log = inventory / "policies" / "policy.yaml", inventory / "policies" / "policy_log.jsonl"
    old_policy, old_log = policy.read_text(), log.read_text()
    data = yaml.safe_load(old_policy)
    data["tiers"]["low"]["evidence_max_age_hours"] = 24  # stricter, signed as version 2
    policy.write_text(yaml.safe_dump(data, sort_keys=False))
    resign_policy(inventory)
    assert gate(inventory, tmp_path, "clean-model")[0] == 0
    policy.write_text(old_policy)  # back to version 1: validly signed, but older than what was seen
    log.write_text(old_log)
    code, models = gate(inventory, tmp_path, "clean-model")
    assert code == 1
    assert any("this instance verified version 2 of this policy history" in r
               for r in models["clean-model"]["reasons"])
