"""How much do verifying the committee register's hash chain and its signatures cost?

Builds a register of N approvals, each signed by two committee members (the demo policy's
quorum, Ed25519 demo keys), in a temporary folder, then times, in the same run:
baseline = `json.loads` of every line (what any reader must pay),
ed25519  = bare pyca Ed25519 verification of the same 2N signatures (the cryptography floor), and
verify   = `load_register` (JSON + canonical re-serialisation + sha256 + schema + every DSSE
           signature checked against the keyring).
Prints the time (goal: 10,000 signed records under 2 s on an idle machine) and the ratios
verify / baseline and verify / ed25519, which hold under load when absolute times do not.
Usage: python benchmarks/governance_register.py [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from signing import demo_signer  # noqa: E402

from aisec_pipeline.governance.committee import PAYLOAD_TYPE, REGISTER_FILE, load_register  # noqa: E402
from aisec_pipeline.governance.policy import load_policy  # noqa: E402
from aisec_pipeline.trust.ledger import GENESIS, canonical_json, record_hash  # noqa: E402

SIGNERS = ("Priya Raman", "Helen Okafor")


def build(path: Path, count: int, signers_per_record: int = 2) -> None:
    """Write a valid signed chain directly (record_decision fsyncs each append: too slow for 10^4)."""
    path.parent.mkdir(parents=True)
    signers = [demo_signer(name, PAYLOAD_TYPE) for name in SIGNERS[:signers_per_record]]
    prev, lines = GENESIS, []
    for seq in range(1, count + 1):
        record = {"seq": seq, "model": f"model-{seq % 50}", "version": "1.0.0",
                  "artifact_sha256": f"{seq:064x}",
                  "classification": {"harm": "high", "reversibility": "low", "tier": "high"},
                  "decision": "approve", "defer_until": None, "conditions": ["monthly review"],
                  "decided_on": date(2026, 11, 1).isoformat(), "rationale": "reviewed evidence",
                  "members_present": list(SIGNERS),
                  "recorded_at": datetime(2026, 11, 1, tzinfo=timezone.utc).isoformat(),
                  "prev_hash": prev}
        record["hash"] = prev = record_hash(record)
        record["signatures"] = [sign(record) for sign in signers]
        lines.append(canonical_json(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def bare_ed25519(text: str, policy) -> None:
    """Verify every signature with pyca directly over the same DSSE pre-authentication bytes."""
    import base64

    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.dsse import Envelope

    from aisec_pipeline.trust.statements import signed_content
    keys = {p.keyids[0]: load_pem_public_key(p.public_keys[0].encode()) for p in policy.people.people}
    for line in text.splitlines():
        record = json.loads(line)
        pae = Envelope(canonical_json(signed_content(record)).encode(), PAYLOAD_TYPE, {}).pae()
        for signature in record["signatures"]:
            keys[signature["keyid"]].verify(base64.b64decode(signature["sig"]), pae)


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main(count: int) -> None:
    policy = load_policy(ROOT / "assets")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build(root / REGISTER_FILE, count)
        text = (root / REGISTER_FILE).read_text(encoding="utf-8")
        baseline = best_of(3, lambda: [json.loads(line) for line in text.splitlines()])
        verify = best_of(3, lambda: load_register(root, policy))
        floor = best_of(3, lambda: bare_ed25519(text, policy))
        register = load_register(root, policy)
        assert register.intact and all(len(c.signers) == 2 for c in register.checks.values())
    print(f"signed records: {count} (two Ed25519 signatures each)")
    print(f"baseline json.loads per line: {baseline * 1000:.1f} ms")
    print(f"load_register (chain + signatures verified): {verify * 1000:.1f} ms "
          f"({verify / count * 1e6:.1f} us/record; goal < 2 s for 10,000)")
    print(f"bare Ed25519 verification of the same signatures: {floor * 1000:.1f} ms")
    print(f"ratio verify / baseline: {verify / baseline:.1f}x; verify / bare Ed25519: {verify / floor:.2f}x")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build(root / REGISTER_FILE, count, signers_per_record=1)
        single = best_of(3, lambda: load_register(root, policy))
    print(f"the same with one signature per record: {single * 1000:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
