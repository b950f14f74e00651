"""Scanner throughput against baselines measured in the same run (run on demand).

1. A 2 GB safetensors file: `aisec scan` (real CLI, subprocess) vs a streaming hashlib sha256
   of the same file. Goal: ratio <= 1.3.
2. A ~200 MB pickle of numpy arrays: `aisec scan` vs the `modelscan` CLI. Goal: ratio <= 1.0.
   The opcode walk skips array payloads by length, so both tools spend this run mostly importing;
   aisec's pickle path imports neither numpy nor h5py (modelscan's pickle engine runs without).

`aisec scan` is the installed entry point (it builds the whole `aisec` parser, so it also pays
for the other subcommands' imports); `scanning.command` is the scanner's own entry, shown for
comparison. Every run is printed with the load average: on a shared machine the spread matters.

Usage: .venv/bin/python benchmarks/scan_throughput.py [--gb 2] [--pickle-mb 200]
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_safetensors(path: Path, total_bytes: int) -> None:
    import json
    import struct

    tensor_bytes = 64 << 20
    count = max(1, total_bytes // tensor_bytes)
    header = {f"t{i}": {"dtype": "F32", "shape": [tensor_bytes // 4], "data_offsets": [i * tensor_bytes, (i + 1) * tensor_bytes]}
              for i in range(count)}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    block = np.random.default_rng(0).random(tensor_bytes // 8).astype(np.float64).tobytes()
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(raw)) + raw)
        for _ in range(count):
            out.write(block)


def write_pickle(path: Path, total_bytes: int) -> None:
    rng = np.random.default_rng(1)
    arrays = {f"layer{i}": rng.random(((8 << 20) // 8,)) for i in range(max(1, total_bytes // (8 << 20)))}
    with open(path, "wb") as out:
        pickle.dump(arrays, out, protocol=4)


def sha256_seconds(path: Path) -> float:
    """Baseline: a plain streaming hashlib sha256 (8 MiB readinto), the fastest Python can hash."""
    from aisec_pipeline.scanning.scanner import sha256_file

    start = time.perf_counter()
    sha256_file(path)
    return time.perf_counter() - start


def command_seconds(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, result.returncode


def timings(runs: int, measure) -> list[float]:
    return sorted(measure() for _ in range(runs))


def shown(seconds: list[float]) -> str:
    return f"best {seconds[0]:.2f} s (runs: {', '.join(f'{s:.2f}' for s in seconds)})"


def aisec_command(path: Path) -> list[str]:
    """The installed `aisec scan` when there is one, else the scanner's own entry point."""
    installed = Path(sys.executable).parent / "aisec"
    return [str(installed), "scan", str(path)] if installed.exists() else scanner_command(path)


def scanner_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "aisec_pipeline.scanning.command", str(path)]


def modelscan_command(path: Path) -> list[str]:
    venv_bin = Path(sys.executable).parent
    return [str(venv_bin / "modelscan"), "-p", str(path)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--pickle-mb", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="aisec-bench-"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    try:
        big = workdir / "model.safetensors"
        write_safetensors(big, int(args.gb * 1e9))
        sha256_seconds(big)  # warm the page cache so both sides read from memory
        hash_s = timings(args.runs, lambda: sha256_seconds(big))
        scan_s = timings(args.runs, lambda: command_seconds(aisec_command(big))[0])
        module_s = timings(args.runs, lambda: command_seconds(scanner_command(big))[0])
        size_gb = big.stat().st_size / 1e9
        print(f"safetensors {size_gb:.2f} GB: sha256 {shown(hash_s)}, {size_gb / hash_s[0]:.2f} GB/s")
        print(f"  aisec scan {shown(scan_s)}: ratio {scan_s[0] / hash_s[0]:.2f} (goal <= 1.3)")
        print(f"  scanning.command {shown(module_s)}: ratio {module_s[0] / hash_s[0]:.2f}")
        big.unlink()

        pkl = workdir / "arrays.pkl"
        write_pickle(pkl, int(args.pickle_mb * 1e6))
        modelscan_s = timings(args.runs, lambda: command_seconds(modelscan_command(pkl))[0])
        aisec_s = timings(args.runs, lambda: command_seconds(aisec_command(pkl))[0])
        module_s = timings(args.runs, lambda: command_seconds(scanner_command(pkl))[0])
        print(f"pickle {pkl.stat().st_size / 1e6:.0f} MB: modelscan CLI {shown(modelscan_s)}")
        print(f"  aisec scan {shown(aisec_s)}: ratio {aisec_s[0] / modelscan_s[0]:.2f} (goal <= 1.0)")
        print(f"  scanning.command {shown(module_s)}: ratio {module_s[0] / modelscan_s[0]:.2f}")
        print(f"(aisec exit code {command_seconds(aisec_command(pkl))[1]}: 0 = all safe)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
