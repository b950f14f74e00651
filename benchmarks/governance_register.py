"""How much does verifying the committee register's hash chain cost over just reading it?

Builds a register of N decisions in a temporary folder, then times, in the same run:
baseline = `json.loads` of every line (what any reader must pay), and
verify   = `load_register` (JSON + canonical re-serialisation + sha256 + schema per record).
Prints the ratio verify / baseline. Usage: python benchmarks/governance_register.py [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

from aisec_pipeline.governance.committee import REGISTER_FILE, load_register
from aisec_pipeline.trust.ledger import canonical_json, record_hash, GENESIS


def build(path: Path, count: int) -> None:
    """Write a valid chain directly (record_decision fsyncs each append: too slow for 10^4)."""
    path.parent.mkdir(parents=True)
    prev, lines = GENESIS, []
    for seq in range(1, count + 1):
        record = {"seq": seq, "model": f"model-{seq % 50}", "artifact_sha256": f"{seq:064x}",
                  "decision": "approve", "defer_until": None, "conditions": ["monthly review"],
                  "decided_on": date(2026, 11, 1).isoformat(), "rationale": "reviewed evidence",
                  "members_present": ["Ada Byron", "Alan Turing"],
                  "recorded_at": datetime(2026, 11, 1, tzinfo=timezone.utc).isoformat(),
                  "prev_hash": prev}
        record["hash"] = prev = record_hash(record)
        lines.append(canonical_json(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build(root / REGISTER_FILE, count)
        text = (root / REGISTER_FILE).read_text(encoding="utf-8")
        baseline = best_of(5, lambda: [json.loads(line) for line in text.splitlines()])
        verify = best_of(5, lambda: load_register(root))
        assert load_register(root).intact
    print(f"records: {count}")
    print(f"baseline json.loads per line: {baseline * 1000:.1f} ms")
    print(f"load_register (verified):     {verify * 1000:.1f} ms "
          f"({verify / count * 1e6:.1f} us/record)")
    print(f"ratio verify / baseline: {verify / baseline:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
