"""The rule catalogue is the code's: every catalogued rule fires on some corpus file, every finding
uses a catalogued rule at its catalogued severity, the docs are generated from it. Plus the details
of issue 12's classes that a verdict alone does not show."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_pipeline.scanning import scan_file
from aisec_pipeline.scanning.rules import BY_ID, ENGINE_SEVERITY, RULES, catalogue_markdown

REPO = Path(__file__).resolve().parents[2]
# Rules no file content can trigger, with the test that exercises each.
OUTSIDE_CORPUS = {"error.unreadable-file": "test_api_and_cli.py::test_unreadable_file_is_an_error",
                  "error.changed-while-scanned": "tests/binding/test_one_read.py"}


def test_every_catalogued_rule_fires_on_a_corpus_file(reports):
    fired = {f.rule for report in reports.values() for f in report.findings}
    missing = sorted(rule.id for rule in RULES if rule.id not in fired and rule.id not in OUTSIDE_CORPUS)
    assert missing == []


def test_every_finding_is_catalogued_with_its_severity(reports):
    wrong = [
        (name, f.rule, f.severity)
        for name, report in reports.items()
        for f in report.findings
        if f.rule not in BY_ID or (f.rule not in ENGINE_SEVERITY and BY_ID[f.rule].severity != f.severity)
    ]
    assert wrong == []


def test_rule_ids_are_unique_and_severities_known():
    assert len(BY_ID) == len(RULES)
    assert {r.severity for r in RULES} <= {"critical", "high", "medium", "low"}
    assert all(r.severity == "high" for r in RULES if r.id.startswith("error."))


def test_docs_catalogue_is_generated_from_the_code():
    committed = (REPO / "docs" / "scan-rules.md").read_text()
    assert committed == catalogue_markdown(), "regenerate: python -m aisec_pipeline.scanning.rules > docs/scan-rules.md"


def test_no_scanner_crash_on_any_corpus_file(reports):
    crashed = {name for name, report in reports.items()
               for f in report.findings if f.rule == "error.engine-failed" and f.engine == "aisec"}
    assert crashed <= {"hdf5_garbage.h5"}  # h5py refusing garbage is the expected engine failure


def test_no_payload_ran(corpus, reports):
    assert corpus.markers_present() == []


def test_hidden_frame_reports_the_global_it_hides(reports):
    report = reports["frame_hidden_global.pkl"]
    hidden = [f for f in report.findings if f.rule == "pickle.dangerous-global" and f.engine == "aisec"]
    assert hidden and "frame boundary" in hidden[0].detail and "builtins.open" in hidden[0].detail


def test_protocol_0_pickles_are_pickles_not_unknown(reports):
    for name in ("v0_unicode_start.pkl", "v0_string_start.pkl", "v0_unicode_trailing.pkl", "v0_string.pkl"):
        assert reports[name].format == "pickle", name
        assert not any(f.rule == "error.unknown-format" for f in reports[name].findings), name
    assert any("builtins.open" in f.detail for f in reports["v0_string_start.pkl"].findings)


def test_odd_zip_flags_name_the_payload_not_an_unreadable_member(reports):
    for name in ("zip_0x20_evil.zip", "zip_0x40_evil.zip"):
        rules = {f.rule for f in reports[name].findings}
        assert {"zip.unusual-flags", "pickle.dangerous-global"} <= rules, name
        assert "error.unreadable-member" not in rules


def test_seven_zip_members_are_named_and_a_fake_7z_is_unreadable(reports):
    fake = reports["evil.7z"]
    assert fake.verdict == "error" and fake.format == "7z"
    assert any("not a readable 7z archive" in f.detail for f in fake.findings)
    real = reports["evil_member.7z"]
    assert any(f.detail.startswith("model.pkl: dangerous global builtins.open") for f in real.findings)


def test_containers_name_the_member_and_the_codec(reports):
    details = [f.detail for f in reports["checkpoint.tar.gz"].findings if f.engine == "aisec"]
    assert any(d.startswith("checkpoint.tar.gz > gzip-decompressed > ckpt/weights.pkl: dangerous global") for d in details)
    assert reports["asr_gz.nemo"].format == "gzip+tar"
    bomb = [f for f in reports["zstd_bomb.zst"].findings if f.rule == "container.bomb"]
    assert bomb and "more than 268,435,456 bytes" in bomb[0].detail


def test_plain_saved_model_folder_passes_as_a_whole(corpus):
    from aisec_pipeline.scanning import scan_paths, scan_verdict
    from aisec_pipeline.verdict import Status

    reports = scan_paths([corpus.root / "sm_plain"])
    assert len(reports) == 6 and scan_verdict(reports).status is Status.PASSED
    formats = {Path(r.path).name: r.format for r in reports}
    assert formats["saved_model.pb"] == "savedmodel" and formats["variables.index"] == "savedmodel-index"


def test_saved_model_findings_name_the_op(reports):
    details = " ".join(f.detail for f in reports["sm_readfile/saved_model.pb"].findings)
    assert "ReadFile" in details


def test_mutated_files_never_crash_the_analyser(tmp_path, monkeypatch):
    """Byte flips, cuts and inserted opcodes (FRAME, DUP, memo, PROTO) on every class of seed:
    every outcome is a verdict, never an exception inside aisec's own analysis."""
    import pickle
    import random

    import corpus_adversarial as ca

    from aisec_pipeline.scanning import engines

    monkeypatch.setattr(engines, "ENGINES", ())  # third-party engines have their own failures
    seeds = [*ca.allowlisted_samples().values(), ca.hidden_frame_pickle(str(tmp_path / "M")), ca.memo_laughs(5, 3),
             ca.dup_laughs(4, 3), ca.dict_own_key(), ca.v0_unicode_start(str(tmp_path / "M")), ca.joblib_nested_objects(3),
             ca.saved_model(["ReadFile"], ["PyFunc"], ["X"], [ca.LAMBDA]), ca.keras_metadata([ca.DENSE, ca.LAMBDA]),
             ca.zip_bytes([("data.pkl", pickle.dumps({"a": 1})), ("README", b"hi\n")])]
    inserts = [ca.frame(5), b"2", b"h\x00", b"\x80\x04", b"(", b"u", b"s", b"\x90", b"b", b"R"]
    rng = random.Random(12)
    crashes = []
    for index in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(data) + 1)
            choice = rng.random()
            if choice < 0.5 and data:
                data[min(where, len(data) - 1)] = rng.randrange(256)
            elif choice < 0.7:
                del data[where:]
            else:
                data[where:where] = rng.choice(inserts)
        path = tmp_path / f"m{index}"
        path.write_bytes(data)
        report = scan_file(path)
        crashes += [f.detail for f in report.findings if f.rule == "error.engine-failed"]
    assert crashes == []
    assert not list(tmp_path.glob("M*"))


def test_allowlist_entries_each_have_a_reason_and_none_is_dangerous():
    from aisec_pipeline.scanning.pickle_policy import _ACCEPTED, DEFAULT_ALLOWLIST, rule_global

    assert DEFAULT_ALLOWLIST == frozenset(_ACCEPTED) and all(reason.strip() for reason in _ACCEPTED.values())
    assert [name for name in DEFAULT_ALLOWLIST if rule_global(*name.rsplit(".", 1), frozenset())] == []


@pytest.mark.parametrize("qualified", [
    "builtins.getattr", "builtins.eval", "__builtin__.apply", "pydoc.locate", "pydoc.pipepager", "operator.attrgetter",
    "torch.fx.graph_module.reduce_graph_module", "torch.utils.collect_env.run", "uuid._get_command_stdout",
    "linecache.getline", "ssl.get_server_certificate", "codecs.open", "numpy.testing._private.utils.runstring",
])
def test_gadgets_stay_dangerous_even_when_trusted(qualified):
    from aisec_pipeline.scanning.pickle_policy import rule_global

    module, name = qualified.rsplit(".", 1)
    ruling = rule_global(module, name, frozenset({qualified}))
    assert ruling is not None and ruling.kind == "dangerous"


def test_unknown_formats_say_what_the_file_is(tmp_path):
    png = tmp_path / "model.pt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    report = scan_file(png)
    assert report.verdict == "error" and "it is a PNG image" in report.findings[0].detail
