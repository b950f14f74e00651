"""`aisec bias` end to end in a subprocess: exit codes, JSON shape, readable output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The subcommand exactly as the lead's `aisec` parser mounts it, without the other subcommands.
ENTRY = ("import argparse, sys\n"
         "from aisec_pipeline.fairness.command import register\n"
         "parser = argparse.ArgumentParser(prog='aisec')\n"
         "register(parser.add_subparsers(required=True))\n"
         "args = parser.parse_args(sys.argv[1:])\n"
         "sys.exit(args.handler(args))\n")


def aisec_bias(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", ENTRY, "bias", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.fixture(scope="module")
def compas_file(tmp_path_factory, compas) -> Path:
    path = tmp_path_factory.mktemp("cli") / "compas.parquet"
    compas.to_parquet(path)
    return path


def common(path: Path) -> list[str]:
    return ["--data", str(path), "--label", "two_year_recid", "--prediction", "prediction"]


def test_by_sex_passes_with_exit_0(compas_file, tmp_path):
    result = aisec_bias(*common(compas_file), "--segments", "sex", "--threshold", "0.15",
                        "--json", str(tmp_path / "out.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "sex=Female" in result.stdout
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["verdict"] == "passed" and data["violations"] == []
    assert [s["segment"] for s in data["segments"]] == [{"sex": "Female"}, {"sex": "Male"}]


def test_intersections_find_the_violation_with_exit_1(compas_file, tmp_path):
    out = tmp_path / "out.json"
    result = aisec_bias(*common(compas_file), "--segments", "sex,age_cat,race", "--intersections",
                        "--threshold", "0.15", "--min-count", "30", "--json", str(out))
    assert result.returncode == 1
    assert "VIOLATION: FPR for sex=Female x age_cat=Less than 25 is 0.61" in result.stdout
    data = json.loads(out.read_text())
    assert set(data) == {"verdict", "segments", "violations"} and data["verdict"] == "failed"
    by_segment = {json.dumps(s["segment"], sort_keys=True): s for s in data["segments"]}
    young_women = by_segment[json.dumps({"age_cat": "Less than 25", "sex": "Female"}, sort_keys=True)]
    assert set(young_women) == {"segment", "n", "metrics", "status"} and young_women["status"] == "fail"
    assert set(young_women["metrics"]["fpr"]) == {"value", "ci_low", "ci_high"}
    assert by_segment[json.dumps({"race": "Native American"})]["status"] == "insufficient_data"
    violation = next(v for v in data["violations"]
                     if v["metric"] == "fpr" and v["segment"] == {"sex": "Female", "age_cat": "Less than 25"})
    assert violation == {"segment": {"sex": "Female", "age_cat": "Less than 25"}, "metric": "fpr",
                         "value": pytest.approx(0.607843, abs=1e-6), "reference": pytest.approx(0.302706, abs=1e-6),
                         "threshold": 0.15}


def test_invalid_data_exits_1_with_one_line(compas_file, tmp_path):
    result = aisec_bias(*common(compas_file)[:4], "--prediction", "decile_score", "--segments", "sex")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "must be binary" in result.stderr
    bogus = tmp_path / "bogus.parquet"
    bogus.write_text("not parquet")
    result = aisec_bias("--data", str(bogus), "--label", "a", "--prediction", "b", "--segments", "c")
    assert result.returncode == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("extra", [["--threshold", "1.5"], ["--min-count", "0"], ["--segments", ","]])
def test_usage_errors_exit_2(compas_file, extra):
    args = [*common(compas_file), "--segments", "sex", *extra]
    assert aisec_bias(*args).returncode == 2
    assert aisec_bias("--data", str(compas_file)).returncode == 2
