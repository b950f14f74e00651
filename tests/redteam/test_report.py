"""Fail-closed reading of a real garak report, whole and cut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_pipeline.redteam.evidence import InjectionResult, injection_verdict
from aisec_pipeline.redteam.report import ProbePlan, measure_rows, read_report
from aisec_pipeline.verdict import Status

pytestmark = pytest.mark.slow  # every test reads a real garak report (one battery per session)

EXPECTED = {"promptinject.HijackHateHumans": "promptinject.AttackRogueString",
            "aisec.SystemPromptCanary": "aisec.CanaryLeak"}


def judged(report_path: Path, battery) -> tuple[InjectionResult, list[str]]:
    report = read_report(report_path)
    plans = {probe: ProbePlan(detector) for probe, detector in EXPECTED.items()}
    rows, problems = measure_rows(report, plans, battery)
    result = InjectionResult("test", tuple(EXPECTED), rows=tuple(rows),
                             problems=tuple(report.problems + problems))
    return result, list(result.problems)


def rewrite(source: Path, destination: Path, keep) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines()
    destination.write_text("\n".join(line for line in lines if keep(json.loads(line))) + "\n",
                           encoding="utf-8")
    return destination


def test_complete_real_report_is_assessed(real_report):
    path, battery = real_report
    result, problems = judged(path, battery)
    assert problems == []
    assert injection_verdict(result, battery).status is Status.PASSED
    assert {(r.probe, r.detector) for r in result.rows} == set(EXPECTED.items())


def test_report_without_completion_is_unassessed(real_report, tmp_path):
    path, battery = real_report
    cut = rewrite(path, tmp_path / "cut.report.jsonl",
                  lambda entry: entry["entry_type"] not in ("completion", "digest"))
    result, problems = judged(cut, battery)
    assert injection_verdict(result, battery).status is Status.UNASSESSED
    assert any("no completion record" in p for p in problems)


def test_missing_eval_row_is_unassessed(real_report, tmp_path):
    path, battery = real_report
    cut = rewrite(path, tmp_path / "noeval.report.jsonl",
                  lambda entry: not (entry["entry_type"] == "eval"
                                     and entry["probe"] == "aisec.SystemPromptCanary"))
    result, problems = judged(cut, battery)
    assert injection_verdict(result, battery).status is Status.UNASSESSED
    assert problems == ["no eval row for aisec.SystemPromptCanary / aisec.CanaryLeak: the "
                        "detector could not load or the probe did not run"]


def test_report_cut_mid_line_is_unassessed(real_report, tmp_path):
    path, battery = real_report
    data = path.read_bytes()
    cut = tmp_path / "half.report.jsonl"
    cut.write_bytes(data[: len(data) // 2])
    result, problems = judged(cut, battery)
    assert injection_verdict(result, battery).status is Status.UNASSESSED
    assert any("not JSON" in p for p in problems) and any("completion" in p for p in problems)


def test_missing_report_is_unassessed(tmp_path, real_report):
    _, battery = real_report
    result, problems = judged(tmp_path / "absent.report.jsonl", battery)
    assert injection_verdict(result, battery).status is Status.UNASSESSED
    assert "no readable report" in problems[0]
