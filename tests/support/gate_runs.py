"""`aisec gate` in real parallel processes, as CI jobs sharing one instance would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class GateRun:
    code: int
    stderr: str
    decision: dict | None  # the model's entry of the run's --json output, if written


def gate_in_parallel(root: Path, out_dir: Path, model: str = "clean-model", count: int = 3,
                     env: dict[str, str] | None = None) -> list[GateRun]:
    """Start `count` gates of `model` at once and wait for all of them."""
    outputs = [out_dir / f"gate-{i}.json" for i in range(count)]
    procs = [subprocess.Popen([sys.executable, "-m", "aisec_pipeline.cli", "gate", model,
                               "--inventory", str(root), "--json", str(out)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for out in outputs]
    runs = []
    for proc, out in zip(procs, outputs):
        _, stderr = proc.communicate(timeout=600)
        decision = json.loads(out.read_text())["models"][0] if out.exists() else None
        runs.append(GateRun(proc.returncode, stderr, decision))
    return runs
