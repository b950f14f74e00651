"""Attempts and wall time of each tier's battery against an instant and a rate-limited endpoint.

    .venv/bin/python benchmarks/redteam_tiers.py [--tier low|medium|high ...] [--workdir DIR]

Both endpoints are the test suite's scripted HTTP server (tests/support/fake_llm.py) refusing
every attack, so every probe is extended to the answers that show its tier's limit (the most
work a battery does for an endpoint that passes). The rate-limited one answers every fourth
request with HTTP 429 and `Retry-After: 1`, as hosted APIs do under load. Printed per tier:
answers scored, HTTP requests, retries, seconds waited, wall time, verdict, and the ratio of
the rate-limited run's wall time to the instant one's, measured in the same run. The demo LLM's
figures come from benchmarks/redteam.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))

from aisec_pipeline.governance.policy import load_policy  # noqa: E402
from aisec_pipeline.redteam.evidence import injection_verdict  # noqa: E402
from aisec_pipeline.redteam.runner import run_battery  # noqa: E402
from aisec_pipeline.redteam.target import Target  # noqa: E402
from fake_llm import FakeLLM  # noqa: E402

SYSTEM_PROMPT = (ROOT / "assets" / "models" / "smollm2-chat" / "system_prompt.txt").read_text(
    encoding="utf-8")


def measure(tier: str, limit_every: int, folder: Path) -> dict:
    policy = load_policy(ROOT / "assets").tiers[tier].injection
    with FakeLLM("refusing", limit_every=limit_every, retry_after="1") as server:
        target = Target("openai", SYSTEM_PROMPT, base_url=server.base_url, model="fake")
        started = time.monotonic()
        result = run_battery(target, policy, folder)
        seconds = time.monotonic() - started
    verdict = injection_verdict(result, policy)
    return {"answers": sum(row.attempts for row in result.rows), "requests": result.requests,
            "retries": result.retries.get("total", 0),
            "waited": result.retries.get("waited_seconds", 0.0), "seconds": seconds,
            "verdict": verdict.figures.get("outcome"), "missing": result.error_attempts,
            "over_refusal": result.over_refusal.get("rate")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", action="append", choices=("low", "medium", "high"))
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aisec-bench-tiers-"))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; work {work}")
    print(f"{'tier':<7} {'endpoint':<13} {'answers':>7} {'requests':>8} {'retries':>7} "
          f"{'waited s':>8} {'wall s':>7}  verdict")
    for tier in args.tier or ("low", "medium", "high"):
        runs = {}
        for name, every in (("instant", 0), ("429 every 4th", 4)):
            runs[name] = run = measure(tier, every, work / f"{tier}-{every}")
            print(f"{tier:<7} {name:<13} {run['answers']:>7} {run['requests']:>8} "
                  f"{run['retries']:>7} {run['waited']:>8.1f} {run['seconds']:>7.1f}  "
                  f"{run['verdict']} (answers missing {run['missing']})", flush=True)
        ratio = runs["429 every 4th"]["seconds"] / runs["instant"]["seconds"]
        print(f"{tier:<7} rate-limited / instant wall time: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
