"""The judge never comes from the change it judges: its own code, its instance (fast checks;
the forged-instance attack end to end is in test_forged_evidence.py)."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

from inventory_builder import new_inventory

from aisec_pipeline import judge
from aisec_pipeline.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_gate_refuses_to_judge_the_repository_holding_its_own_code(capsys):
    """The attack: a pull request that changes `decide()` was judged by its own `decide()`."""
    assert main(["gate", "nope", "--inventory", str(REPO_ROOT / "assets")]) == 2
    err = capsys.readouterr().err
    assert "refusing to judge" in err and str(judge.PACKAGE_DIR) in err and "--dev-run" in err, err


def test_a_development_run_says_so_and_goes_on(capsys):
    assert main(["gate", "nope", "--dev-run", "--inventory", str(REPO_ROOT / "assets")]) == 2
    err = capsys.readouterr().err
    assert "DEVELOPMENT RUN" in err and "unknown model(s): nope" in err, err


def test_an_inventory_outside_the_gates_repository_is_judged(tmp_path):
    (tmp_path / ".git").mkdir()
    assert judge.self_judging(tmp_path / "assets") is None
    assert judge.repository_of(tmp_path / "assets" / "models") == tmp_path


def test_the_code_version_names_the_package_version_and_its_commit():
    code = judge.code_version()
    assert code.version == metadata.version("aisec-pipeline")
    assert code.location == str(judge.PACKAGE_DIR)
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert code.commit == head.stdout.strip()
        assert code.commit[:12] in code.label()


def test_the_default_instance_is_outside_any_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(REPO_ROOT)
    assert judge.instance_home() == tmp_path / "state" / "aisec" / "dagster_home"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert judge.instance_home() == tmp_path / "user" / ".local" / "state" / "aisec" / "dagster_home"


def test_an_instance_inside_the_inventory_is_refused(tmp_path):
    inventory = tmp_path / "assets"
    problem = judge.instance_problem(inventory / "models" / ".dagster_home", inventory)
    assert problem and "inside the inventory" in problem
    assert judge.instance_problem(tmp_path / "elsewhere", inventory) is None


def git_repository(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    return folder


def test_an_instance_tracked_by_git_is_refused(tmp_path):
    repo = git_repository(tmp_path / "checkout")
    home = repo / ".dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert judge.instance_problem(home) is None, "untracked (e.g. ignored) is not refused"
    subprocess.run(["git", "-C", str(repo), "add", "-f", ".dagster_home"], check=True)
    problem = judge.instance_problem(home)
    assert problem and "tracked by git" in problem and "dagster.yaml" in problem


def test_the_gate_refuses_a_tracked_instance_with_one_clear_line(tmp_path, monkeypatch, capsys):
    repo = git_repository(tmp_path / "checkout")
    home = repo / ".dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    subprocess.run(["git", "-C", str(repo), "add", "-f", ".dagster_home"], check=True)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    (repo / "assets" / "models").mkdir(parents=True)
    assert main(["gate", "--all", "--inventory", str(repo / "assets")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aisec: refusing to judge: the Dagster instance") and "Traceback" not in err


def test_other_commands_refuse_a_tracked_instance_too(tmp_path, monkeypatch, capsys):
    repo = git_repository(tmp_path / "checkout")
    (repo / ".dagster_home").mkdir()
    (repo / ".dagster_home" / "dagster.yaml").write_text("")
    subprocess.run(["git", "-C", str(repo), "add", "-f", ".dagster_home"], check=True)
    monkeypatch.setenv("DAGSTER_HOME", str(repo / ".dagster_home"))
    assert main(["models", "--inventory", str(new_inventory(tmp_path / "assets"))]) == 2
    assert "tracked by git" in capsys.readouterr().err
