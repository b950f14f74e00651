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
    assert set(data) == {"verdict", "rows", "tests", "min_count", "overall", "segments", "violations", "review"}
    assert data["verdict"] == "failed" and data["tests"] > 0
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


CREDIT = REPO / "assets" / "models" / "credit-default" / "data" / "evaluation.csv"


def test_a_report_that_cannot_judge_exits_1_with_the_review_list(tmp_path):
    out = tmp_path / "out.json"
    result = aisec_bias("--data", str(CREDIT), "--label", "default", "--prediction", "prediction",
                        "--segments", "sex,age_band", "--min-count", "200", "--json", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "INSUFFICIENT (needs review): every segment (5) has a test below the minimum 200" in result.stdout
    assert "PASSED" not in result.stdout
    data = json.loads(out.read_text())
    assert data["verdict"] == "insufficient" and data["overall"]["n"] == 1000
    assert {s["status"] for s in data["segments"]} == {"insufficient_data"}
    assert data["review"] and all(set(i) == {"segment", "metric", "n", "minimum"} and i["n"] < 200 == i["minimum"]
                                  for i in data["review"])


def test_rows_without_a_label_are_reported_and_fail_the_run(compas, tmp_path):
    frame = compas.head(2000).copy()
    frame.loc[frame.index[:100], "two_year_recid"] = None
    path = tmp_path / "labels.csv.gz"
    frame.to_csv(path, index=False, compression="gzip")
    out = tmp_path / "out.json"
    result = aisec_bias(*common(path), "--segments", "sex", "--threshold", "0.5", "--json", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rows: 2000 read, 1900 measured; left out: 5.0% of rows have no label (100 of 2000)" in result.stdout
    assert json.loads(out.read_text())["rows"]["excluded"] == {"no label": 100}
    allowed = aisec_bias(*common(path), "--segments", "sex", "--threshold", "0.5", "--max-excluded", "0.1")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


@pytest.mark.parametrize("segments, named", [("sex,two_year_recid", "two_year_recid"),
                                             ("prediction", "prediction")])
def test_the_label_or_prediction_as_a_segment_is_a_usage_error(compas_file, segments, named):
    result = aisec_bias(*common(compas_file), "--segments", segments)
    assert result.returncode == 2 and f"--segments names {named!r}" in result.stderr


def test_nonsense_data_is_refused_naming_the_column(tmp_path):
    collide = tmp_path / "collide.csv"
    collide.write_text("y,p,area,reg\n" + "1,1,a x reg=x,x\n0,0,b,z\n" * 20)
    result = aisec_bias("--data", str(collide), "--label", "y", "--prediction", "p", "--segments", "area,reg",
                        "--intersections")
    assert result.returncode == 1 and "invalid data" in result.stderr and "column 'area'" in result.stderr
    duplicated = tmp_path / "dup.csv"
    duplicated.write_text("y,p,g,g\n1,1,a,b\n")
    result = aisec_bias("--data", str(duplicated), "--label", "y", "--prediction", "p", "--segments", "g")
    assert result.returncode == 1 and "'g' more than once" in result.stderr
    result = aisec_bias("--data", str(duplicated), "--label", "y", "--prediction", "p", "--segments", "sex")
    assert result.returncode == 1 and "column(s) not found: 'sex'; the file has: 'y', 'p', 'g', 'g'" in result.stderr


def test_yes_no_labels_with_positive(tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("y,p,g\n" + "yes,yes,a\nno,no,a\nyes,no,b\nno,no,b\n" * 50)
    refused = aisec_bias("--data", str(path), "--label", "y", "--prediction", "p", "--segments", "g")
    assert refused.returncode == 1 and "--positive" in refused.stderr
    accepted = aisec_bias("--data", str(path), "--label", "y", "--prediction", "p", "--segments", "g",
                          "--positive", "yes", "--min-count", "10")
    assert "overall  200" in accepted.stdout and "Traceback" not in accepted.stderr


def test_the_cli_rule_is_the_policy_rule_with_the_same_values():
    """`aisec bias` builds its rule without pydantic: it must be the one BiasPolicy's defaults give."""
    from aisec_pipeline.fairness.bias import default_rule, rule_from_policy
    from aisec_pipeline.governance.policy import BiasPolicy

    policy = BiasPolicy(max_difference=0.12, min_count=40, max_excluded_fraction=0.02, protected_segments=("race",))
    assert default_rule(0.12, 40, 0.02, ["race"]) == rule_from_policy(policy)


def test_the_cli_starts_without_dagster_scipy_pydantic_or_great_expectations(compas_file):
    probe = ("import runpy, sys\n"
             "sys.argv = ['aisec'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('aisec_pipeline.cli', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
             "{'dagster', 'scipy', 'pydantic', 'great_expectations', 'garak', 'matplotlib', 'fairlearn', 'sklearn'})\n"
             "print('HEAVY', heavy, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe, "bias", *common(compas_file), "--segments", "sex,race",
                             "--intersections"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "HEAVY []" in result.stderr, result.stderr[-2000:]
