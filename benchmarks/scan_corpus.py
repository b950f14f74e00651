"""Detection numbers on the self-built, peer-style corpus (run on demand).

The corpus is the test suite's (tests/scanning/corpus*.py): constructions from picklescan's,
modelscan's and fickling's suites and from real model repositories (Hugging Face folders,
TorchScript, compressed joblib, tar/.nemo, 7z, ONNX), written by our own code, every payload
only creating a marker file. Each file is labelled malicious (expected unsafe), benign (expected
safe) or "not a model / unreadable" (expected error: random bytes, truncated files), counted apart.

For aisec, picklescan 1.0.5 (default mode, as users run it) and modelscan 0.8.8 it prints:
- malicious blocked by a finding (aisec: a rule other than error.*), blocked only by an error,
  missed;
- benign files blocked (false blocks);
- payloads executed (marker files present after all scans).
Goals (issue 19): >= 99.5 % of malicious blocked by a finding, <= 2 % false blocks, 0 executed.

Usage: .venv/bin/python benchmarks/scan_corpus.py [--peers]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_corpus(root: Path):
    sys.path.insert(0, str(REPO / "tests" / "scanning"))
    from corpus import CorpusBuilder

    builder = CorpusBuilder(root)
    with contextlib.redirect_stderr(io.StringIO()):
        builder.build()
    return builder


def aisec_outcome(sample) -> str:
    from aisec_pipeline.scanning import scan_file

    report = scan_file(sample.path, sample.trusted)
    if report.verdict == "unsafe":
        return "finding"
    return "error" if report.verdict == "error" else "pass"


def picklescan_outcome(sample) -> str:
    from picklescan.scanner import scan_file_path

    result = scan_file_path(str(sample.path))
    if result.infected_files or result.issues_count:
        return "finding"
    return "error" if result.scan_err else "pass"


def modelscan_outcome(sample) -> str:
    from modelscan.modelscan import ModelScan

    with contextlib.redirect_stdout(io.StringIO()):
        result = ModelScan().scan(str(sample.path))
    if result.get("issues"):
        return "finding"
    return "error" if result.get("errors") else "pass"


def tally(samples, outcome) -> dict[str, Counter]:
    counts = {"malicious": Counter(), "benign": Counter(), "apart": Counter()}
    for sample in samples:
        label = {"unsafe": "malicious", "safe": "benign"}.get(sample.verdict, "apart")
        try:
            counts[label][outcome(sample)] += 1
        except Exception:  # noqa: BLE001 - a peer tool crashing on a file counts as an error
            counts[label]["error"] += 1
    return counts


def show(tool: str, counts: dict[str, Counter]) -> None:
    mal, ben = counts["malicious"], counts["benign"]
    n_mal, n_ben = sum(mal.values()), sum(ben.values())
    blocked_ben = ben["finding"] + ben["error"]
    print(f"{tool:10s} malicious {n_mal}: by a finding {mal['finding']} ({100 * mal['finding'] / n_mal:.1f} %), "
          f"only by an error {mal['error']}, missed {mal['pass']} | benign {n_ben}: blocked {blocked_ben} "
          f"({100 * blocked_ben / n_ben:.1f} %) | not models/unreadable {sum(counts['apart'].values())}: "
          f"{dict(counts['apart'])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", action="store_true", help="also run picklescan and modelscan on every file")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="aisec-corpus-") as folder:
        corpus = build_corpus(Path(folder))
        samples = [s for s in corpus.samples if s.path.is_file() or s.path.is_symlink()]
        # Peers first: aisec imports modelscan's scanner modules without their package's __init__,
        # which a later full ModelScan() would need.
        tools = [("modelscan", modelscan_outcome), ("picklescan", picklescan_outcome)] if args.peers else []
        tools.append(("aisec", aisec_outcome))
        for tool, outcome in tools:
            show(tool, tally(samples, outcome))
        print(f"payloads executed: {len(corpus.markers_present())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
