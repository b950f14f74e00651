"""scan_paths, scan_verdict, fail-closed behaviour and the `aisec scan` command."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus import call_stack_global

from aisec_pipeline.scanning import scan_file, scan_paths, scan_verdict
from aisec_pipeline.scanning.engines import picklescan_engine
from aisec_pipeline.scanning.streams import SkippedBytes, SkippingReader
from aisec_pipeline.verdict import Status

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "models"
    (folder / "sub").mkdir(parents=True)
    safe = folder / "weights.npy"
    np.save(safe, np.arange(6.0))
    unsafe = folder / "sub" / "model.bin"
    unsafe.write_bytes(call_stack_global("os", "system", "true"))
    outside = tmp_path / "outside.npy"
    np.save(outside, np.arange(3.0))
    link = folder / "link.npy"
    os.symlink(outside, link)
    return {"folder": folder, "safe": safe, "unsafe": unsafe, "link": link}


def test_scan_paths_recurses_and_reports_symlinks(files):
    seen = []
    reports = scan_paths([files["folder"]], on_progress=lambda i, n, p: seen.append((i, n, p)))
    by_path = {Path(r.path): r for r in reports}
    assert by_path[files["safe"]].verdict == "safe"
    assert by_path[files["unsafe"]].verdict == "unsafe"
    assert by_path[files["link"]].verdict == "error"
    assert [i for i, _, _ in seen] == list(range(len(reports))) and all(n == len(reports) for _, n, _ in seen)


def test_sha256_matches_hashlib(files):
    import hashlib

    report = scan_file(files["safe"])
    assert report.sha256 == hashlib.sha256(files["safe"].read_bytes()).hexdigest()


def test_scan_verdict(files):
    safe = scan_file(files["safe"])
    unsafe = scan_file(files["unsafe"])
    missing = scan_file(files["folder"] / "missing.pt")
    assert scan_verdict([safe]).status is Status.PASSED
    failed = scan_verdict([safe, unsafe])
    assert failed.kind == "artifact_scan" and failed.status is Status.FAILED
    # reasons name the file relative to the scanned files' common folder, never repeating the path
    assert "sub/model.bin: pickle.dangerous-global: dangerous global os.system (STACK_GLOBAL)" in failed.reasons
    assert all(r.startswith("sub/model.bin: ") and str(files["folder"]) not in r for r in failed.reasons)
    assert failed.figures["counts"] == {"safe": 1, "unsafe": 1, "error": 0}
    assert scan_verdict([safe, missing]).status is Status.UNASSESSED
    assert scan_verdict([]).status is Status.UNASSESSED


def test_engine_crash_is_an_error_not_silence(tmp_path, monkeypatch):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))

    def explode(*_args, **_kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(picklescan_engine, "scan_pickle", explode)
    report = scan_file(path)
    assert report.verdict == "error"
    assert any(f.engine == "picklescan" and f.rule == "error.engine-failed" for f in report.findings)


def test_huge_byte_payloads_are_skipped_not_loaded(tmp_path):
    path = tmp_path / "big.pkl"
    path.write_bytes(pickle.dumps({"blob": b"\x00" * (8 << 20)}, protocol=4))
    with open(path, "rb") as raw:
        reader = SkippingReader(raw)
        reader.seek(raw.read().find(b"\x8e") + 9)  # just past BINBYTES8 and its length
        skipped = reader.read(8 << 20)
    assert isinstance(skipped, SkippedBytes) and len(skipped) == 8 << 20
    assert scan_file(path).verdict == "safe"


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aisec_pipeline.scanning.command", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_exit_codes_and_json(files, tmp_path):
    out = tmp_path / "report.json"
    assert _cli(str(files["safe"])).returncode == 0
    result = _cli(str(files["safe"]), str(files["unsafe"]), "--json", str(out))
    assert result.returncode == 1
    assert "UNSAFE" in result.stdout and "scanning" in result.stderr
    data = json.loads(out.read_text())
    entry = next(f for f in data["files"] if f["path"] == str(files["unsafe"]))
    assert entry["verdict"] == "unsafe"
    assert {"engine", "severity", "rule", "detail"} <= set(entry["findings"][0])
    assert _cli(str(tmp_path / "does-not-exist")).returncode == 1
    assert _cli().returncode == 2
    assert _cli("--bogus", str(files["safe"])).returncode == 2


def test_cli_trust_option(tmp_path):
    from sklearn.tree import DecisionTreeClassifier

    path = tmp_path / "tree.pkl"
    path.write_bytes(pickle.dumps(DecisionTreeClassifier()))
    assert _cli(str(path)).returncode == 1
    assert _cli(str(path), "--trust", "sklearn.tree._classes.DecisionTreeClassifier").returncode == 0


def test_cli_never_imports_dagster_or_garak(files):
    code = (
        "import sys; from aisec_pipeline.scanning.command import main; rc = main([sys.argv[1]]);"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('dagster', 'garak')]; print(bad); sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(files["safe"])], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and result.stdout.strip().endswith("[]")


def test_register_adds_scan_subcommand():
    import argparse

    from aisec_pipeline.scanning.command import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["scan", "a.pt", "--trust", "x.Y", "--json", "o.json"])
    assert args.paths == [Path("a.pt")] and args.trust == ["x.Y"] and callable(args.handler)


def test_reasons_locate_members_without_repeating_the_path(tmp_path):
    import zipfile

    evil = tmp_path / "a" / "evil.zip"
    evil.parent.mkdir()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("data.pkl", call_stack_global("os", "system", "true"))
    lone = scan_verdict([scan_file(evil)])
    assert "evil.zip: pickle.dangerous-global: data.pkl: dangerous global os.system (STACK_GLOBAL)" in lone.reasons
    safe = tmp_path / "b" / "ok.npy"
    safe.parent.mkdir()
    np.save(safe, np.arange(3.0))
    both = scan_verdict(scan_paths([evil, safe]))
    assert both.reasons and all(r.startswith("a/evil.zip: ") for r in both.reasons)
    assert not any(str(tmp_path) in r for r in both.reasons)


HEAVY_ENGINES = ("numpy", "picklescan", "modelscan", "h5py", "gguf", "jinja2", "dagster", "garak")


def _imported_after(code: str, *args: str) -> list[str]:
    """Top-level packages among HEAVY_ENGINES that running `code` in a fresh interpreter imports."""
    probe = f"import json, sys; {code}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=REPO)
    return sorted(set(json.loads(result.stdout.strip().splitlines()[-1])) & set(HEAVY_ENGINES))


def test_engines_are_imported_only_for_formats_that_need_them(tmp_path):
    from safetensors.numpy import save_file

    weights = tmp_path / "w.safetensors"
    save_file({"w": np.ones(4, dtype=np.float32)}, weights)
    scan = "from aisec_pipeline.scanning.command import main; main([sys.argv[1]])"
    assert _imported_after(scan, str(weights)) == []
    assert _imported_after("import aisec_pipeline.cli as cli; cli.build_parser()") == []
    pickled = tmp_path / "w.pkl"
    pickled.write_bytes(pickle.dumps({"w": [1.0]}))
    engines = set(_imported_after(scan, str(pickled)))
    assert {"picklescan", "modelscan"} <= engines
    assert not engines & {"numpy", "h5py"}  # modelscan's pickle scan needs neither (speed)


def test_unreadable_file_is_an_error(tmp_path, monkeypatch):
    from aisec_pipeline.scanning import one_read

    path = tmp_path / "w.npy"
    np.save(path, np.arange(3.0))

    def unreadable(_ledger):
        raise OSError("Input/output error")

    monkeypatch.setattr(one_read.ReadLedger, "finish", unreadable)  # the pass that hashes
    report = scan_file(path)
    assert report.verdict == "error"
    assert [f.rule for f in report.findings] == ["error.unreadable-file"]
