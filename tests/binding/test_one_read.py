"""Issue 18, attack 1: a process flips the artifact in place between two reads of one gate.

The flip is made deterministic by a hook at the point between two reads (never a sleep or a
race): the scanner's format pass sees benign bytes, every other read sees the malicious pickle
the registry names. Before the fix, the scan hashed in a second read and passed the malicious
digest; now the digest is of the bytes analysed, and any difference blocks.
"""

from __future__ import annotations

import hashlib
import io
import pickletools
import threading
from pathlib import Path

import pytest
from inventory_builder import add_model, new_inventory

from aisec_pipeline.scanning import scan_file, scan_verdict
from aisec_pipeline.verdict import Status

# posix.system("true"), never unpickled: the classic malicious pickle, built opcode by opcode.
COMMAND = b"true #" + b" " * 40
MALICIOUS = (b"\x80\x02cposix\nsystem\nX" + len(COMMAND).to_bytes(4, "little") + COMMAND
             + b"\x85R.")


def benign_of_same_length() -> bytes:
    """A plain string pickle exactly as long as MALICIOUS, so the flip is an in-place write."""
    filler = len(MALICIOUS) - len(b"\x80\x02X") - 4 - len(b".")
    data = b"\x80\x02X" + filler.to_bytes(4, "little") + b"w" * filler + b"."
    assert len(data) == len(MALICIOUS)
    pickletools.dis(data, out=io.StringIO())  # a well-formed pickle
    return data


BENIGN = benign_of_same_length()


def write_in_place(path: Path, data: bytes) -> None:
    with open(path, "r+b") as handle:  # same inode, same length: what a flipping process does
        handle.write(data)


def flip_during(monkeypatch, module, name: str, path: Path) -> None:
    """While `module.name` runs, `path` holds BENIGN; before and after, MALICIOUS. Reads the scan
    started earlier on other threads finish first, so the flip falls between two reads."""
    real = getattr(module, name)
    before = set(threading.enumerate())

    def flipped(*args, **kwargs):
        for thread in set(threading.enumerate()) - before - {threading.current_thread()}:
            thread.join()
        write_in_place(path, BENIGN)
        try:
            return real(*args, **kwargs)
        finally:
            write_in_place(path, MALICIOUS)

    monkeypatch.setattr(module, name, flipped)


def test_the_pickles_are_what_the_attack_needs(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(MALICIOUS)
    assert scan_file(path).verdict == "unsafe"
    path.write_bytes(BENIGN)
    assert scan_file(path).verdict == "safe"


def test_a_file_flipped_between_the_format_pass_and_the_hash_never_passes(tmp_path, monkeypatch):
    from aisec_pipeline.scanning import scanner

    path = tmp_path / "model.pkl"
    path.write_bytes(MALICIOUS)
    flip_during(monkeypatch, scanner, "scan_source", path)
    report = scan_file(path)
    verdict = scan_verdict([report])
    assert not (verdict.passed and report.sha256 == hashlib.sha256(MALICIOUS).hexdigest())
    assert verdict.status is Status.UNASSESSED
    assert report.sha256 == ""
    assert "error.changed-while-scanned" in {f.rule for f in report.findings}


def test_a_file_flipped_between_the_own_analyser_and_the_engines_is_caught(tmp_path, monkeypatch):
    """picklescan and modelscan re-open the file after aisec's analyser: the same ledger checks them."""
    from aisec_pipeline.scanning.formats import pickle_file

    path = tmp_path / "model.pkl"
    path.write_bytes(BENIGN)

    real = pickle_file.scan_pickle_streams

    def engines_see_other_bytes(*args, **kwargs):
        write_in_place(path, MALICIOUS)
        return real(*args, **kwargs)

    monkeypatch.setattr(pickle_file, "scan_pickle_streams", engines_see_other_bytes)
    report = scan_file(path)
    assert report.verdict == "error" and report.sha256 == ""
    assert "error.changed-while-scanned" in {f.rule for f in report.findings}


def test_a_file_that_grows_during_the_scan_is_caught(tmp_path, monkeypatch):
    from aisec_pipeline.scanning import scanner

    path = tmp_path / "model.pkl"
    path.write_bytes(BENIGN)
    real = scanner.scan_source

    def then_appended(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        finally:
            with open(path, "ab") as handle:
                handle.write(MALICIOUS)

    monkeypatch.setattr(scanner, "scan_source", then_appended)
    report = scan_file(path)
    assert report.verdict == "error" and report.sha256 == ""
    assert "error.changed-while-scanned" in {f.rule for f in report.findings}


def test_an_unchanged_file_reports_the_digest_of_its_bytes(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(BENIGN)
    report = scan_file(path)
    assert report.verdict == "safe"
    assert report.sha256 == hashlib.sha256(BENIGN).hexdigest()


@pytest.fixture
def flipping_model(tmp_path):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "flipper", MALICIOUS, artifact_name="model.pkl")
    return root


def test_the_gate_blocks_a_file_changed_between_its_hash_and_the_scan(flipping_model):
    """The gate hashed the registered (malicious) bytes; the scan read others."""
    from aisec_pipeline.assessments import assess_artifacts
    from aisec_pipeline.governance.policy import load_policy
    from aisec_pipeline.inventory import load_model
    from aisec_pipeline.orchestration.evidence import RunInputs

    model = load_model(flipping_model / "models" / "flipper")
    observed, _ = RunInputs().measure(model, flipping_model, "run-1")
    assert observed["artifacts/model.pkl"] == model.entry.artifacts[0].sha256
    write_in_place(model.path("artifacts/model.pkl"), BENIGN)  # the hook between the two reads
    verdict = assess_artifacts(model, load_policy(flipping_model), observed)
    assert not verdict.passed
    assert any(r.startswith("artifact changed while it was being gated: artifacts/model.pkl")
               for r in verdict.reasons)
    assert verdict.figures["scanned_sha256s"] == {"artifacts/model.pkl": hashlib.sha256(BENIGN).hexdigest()}


def test_the_gate_records_the_scanned_digest_when_nothing_changed(flipping_model):
    from aisec_pipeline.assessments import assess_artifacts
    from aisec_pipeline.governance.policy import load_policy
    from aisec_pipeline.inventory import load_model
    from aisec_pipeline.orchestration.evidence import RunInputs

    model = load_model(flipping_model / "models" / "flipper")
    observed, _ = RunInputs().measure(model, flipping_model, "run-1")
    verdict = assess_artifacts(model, load_policy(flipping_model), observed)
    assert verdict.status is Status.FAILED  # the malicious pickle itself
    assert not any("changed while" in r for r in verdict.reasons)
    assert verdict.figures["scanned_sha256s"] == observed
