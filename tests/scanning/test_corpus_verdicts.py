"""Every crafted file (malicious and benign) gets the expected verdict and rule, nothing runs,
and renaming a file never changes its verdict."""

from __future__ import annotations

import shutil

import corpus_adversarial
import pytest
from corpus import Sample

from aisec_pipeline.scanning import FileReport, scan_file

GROUPS = ["pickles", "torch", "zips", "numpy", "joblib", "keras", "gguf", "safetensors", "other",
          *(step.__name__ for step in corpus_adversarial.STEPS)]


def _mismatch(sample: Sample, report: FileReport) -> str | None:
    rules = {f.rule for f in report.findings}
    if report.verdict == sample.verdict and (sample.rule is None or sample.rule in rules):
        return None
    return f"{sample.name}: expected {sample.verdict}/{sample.rule}, got {report.verdict} {sorted(rules)}"


@pytest.mark.parametrize("group", GROUPS)
def test_group_verdicts(group, corpus, reports):
    samples = [s for s in corpus.samples if s.group == group]
    assert samples
    problems = [p for s in samples if (p := _mismatch(s, reports[s.name]))]
    assert not problems, "\n".join(problems)


def test_no_payload_ran(corpus, reports):
    assert len(reports) == len(corpus.samples)
    assert corpus.markers_present() == []


def test_benign_files_have_no_blocking_findings(corpus, reports):
    for sample in corpus.samples:
        if sample.verdict == "safe":
            blocking = [f for f in reports[sample.name].findings if f.severity in ("critical", "high")]
            assert blocking == [], sample.name


def test_renaming_does_not_change_the_verdict(corpus, reports, tmp_path):
    suffixes = ["", ".bin", ".pt", ".weights", ".safetensors", ".npy", ".pkl", ".h5"]
    for sample in corpus.samples:
        if not sample.renamable or (sample.group == "gguf" and sample.name == "smollm2.gguf"):
            continue
        for index, suffix in enumerate(suffixes):
            renamed = tmp_path / f"renamed_{index}{suffix}"
            shutil.copyfile(sample.path, renamed)
            report = scan_file(renamed, sample.trusted)
            assert report.verdict == reports[sample.name].verdict, (sample.name, suffix)
            assert {f.rule for f in report.findings} == {f.rule for f in reports[sample.name].findings}
    assert corpus.markers_present() == []


def test_trusted_types_are_listed_only_when_used(corpus, reports):
    trusted = reports["sklearn.joblib (trusted)"]
    assert trusted.verdict == "safe"
    assert trusted.trusted_types_used == ["sklearn.linear_model._logistic.LogisticRegression"]
    assert reports["state_dict.pt"].trusted_types_used == []


def test_dangerous_globals_stay_unsafe_even_when_trusted(corpus):
    sample = next(s for s in corpus.samples if s.name == "v0_os_system.pkl")
    report = scan_file(sample.path, ["os.system", "posix.system"])
    assert report.verdict == "unsafe"


def test_every_engine_sees_pickles(reports):
    engines = {f.engine for f in reports["stack_os_system"].findings}
    assert engines == {"aisec", "picklescan", "modelscan"}


def test_joblib_payload_after_array_is_found_by_own_analyser(reports):
    details = [f.detail for f in reports["after_array.joblib"].findings if f.engine == "aisec"]
    assert any(".open (STACK_GLOBAL)" in d for d in details)  # open() pickles as io.open


def test_reports_are_json_serialisable(reports):
    import json

    for report in reports.values():
        data = json.loads(json.dumps(report.to_dict()))
        assert set(data) >= {"path", "sha256", "format", "verdict", "findings", "trusted_types_used"}


def test_detection_rates_meet_the_goals(corpus, reports):
    """Issue 19's goals on the whole corpus (benchmarks/scan_corpus.py prints the same figures and
    the peers'): >= 99.5 % of malicious files blocked by a finding, not by an error; <= 2 % of
    benign files blocked; files that are not models are counted apart."""
    malicious = [reports[s.name] for s in corpus.samples if s.verdict == "unsafe"]
    benign = [reports[s.name] for s in corpus.samples if s.verdict == "safe"]
    by_finding = sum(r.verdict == "unsafe" for r in malicious)
    assert len(malicious) >= 150 and len(benign) >= 80
    assert by_finding / len(malicious) >= 0.995
    assert sum(r.verdict != "safe" for r in benign) / len(benign) <= 0.02
