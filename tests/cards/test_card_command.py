"""The CLI through a real subprocess: exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys


def aisec_card(*args, cwd):
    return subprocess.run([sys.executable, "-m", "aisec_pipeline.cards.command", "card", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=60)


def test_valid_card_exits_0_and_uses_the_entry_next_to_it(write_card, header, entry_file, tmp_path):
    write_card(header)
    run = aisec_card("validate", "card.md", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("VALID card.md (checked against model.yaml)")


def test_invalid_card_exits_1_listing_every_problem(write_card, header, entry_file, tmp_path):
    header["model_version"] = "2.0.0"
    del header["summary"]
    header["owner"]["name"] = "ML Team"
    write_card(header)
    run = aisec_card("validate", "card.md", "--json", "result.json", cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    assert lines[0].startswith("INVALID card.md") and lines[0].endswith("3 problem(s)")
    assert sorted(line.split(":")[0].strip() for line in lines[1:]) == [
        "model_version", "owner.name", "summary"]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["valid"] is False and len(result["problems"]) == 3


def test_explicit_entry_is_used(write_card, header, entry_file, tmp_path):
    elsewhere = tmp_path / "cards"
    elsewhere.mkdir()
    header["model_name"] = "another-model"
    write_card(header, name="cards/card.md")
    assert aisec_card("validate", "cards/card.md", cwd=tmp_path).returncode == 0  # no entry
    run = aisec_card("validate", "cards/card.md", "--entry", "model.yaml", cwd=tmp_path)
    assert run.returncode == 1 and "model_name: 'another-model' does not match" in run.stdout


def test_usage_errors_exit_2(write_card, header, tmp_path):
    write_card(header)
    assert aisec_card("validate", cwd=tmp_path).returncode == 2
    assert aisec_card("frobnicate", "card.md", cwd=tmp_path).returncode == 2
    bad_entry = tmp_path / "bad.yaml"
    bad_entry.write_text("name: x\n", encoding="utf-8")
    run = aisec_card("validate", "card.md", "--entry", "bad.yaml", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.startswith("aisec: ") and len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr
    run = aisec_card("validate", "card.md", "--entry", "missing.yaml", cwd=tmp_path)
    assert run.returncode == 2 and "file not found" in run.stderr


def test_missing_card_exits_1(tmp_path):
    run = aisec_card("validate", "card.md", cwd=tmp_path)
    assert run.returncode == 1 and "no model card: card.md" in run.stdout


def test_cli_module_starts_light_and_core_never_imports_dagster(tmp_path):
    code = ("import sys, aisec_pipeline.cards.command;"
            "assert 'pydantic' not in sys.modules and 'yaml' not in sys.modules;"
            "import aisec_pipeline.cards.validate, aisec_pipeline.cards.render;"
            "assert 'dagster' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=60)
