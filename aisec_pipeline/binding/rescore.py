"""Re-scoring: the registered artifact predicts the evaluation rows in a separate, confined process.

Only artifacts that load without running arbitrary code are run, and only after the artifact's
scan passed: skops files, loaded by skops' own loader with exactly the types the registry trusts
(every other type skops finds refuses the load), and ONNX graphs, run by onnxruntime's CPU
provider (no custom-operator library is ever registered; the scan refuses custom domains). The worker runs with no network (a new network
namespace via `unshare -rn` where the kernel allows it; and an audit hook refusing sockets in any case),
an empty environment, CPU-time, memory and file-size limits, and a wall-clock timeout.
An ONNX model's inputs must be named after evaluation columns (one column each, shape [N] or
[N, 1]); its first output is the predicted label.

Rows: all of them up to RESCORE_ROWS, else a random sample of that size whose seed is recorded.
Tolerance: at most TOLERANCE of the re-scored rows may disagree, overall and within each declared
segment value (at least one row each): re-scoring the same model with the same library gives the
same predictions, so anything beyond rounding at the threshold is a file that lies.

Worker:  python -m aisec_pipeline.binding.rescore ARTIFACT ROWS.parquet OUT.parquet TRUSTED...
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESCORE_ROWS = 50_000
TOLERANCE = 0.005  # 0.5% of re-scored rows
TIMEOUT_SECONDS = 300
CPU_SECONDS = 240
MEMORY_BYTES = 4 << 30
OUTPUT_BYTES = 1 << 30
RUNNABLE_FORMATS = frozenset({"skops", "onnx"})


class RescoreError(Exception):
    """The artifact could not be run on the rows (a reason a person can act on)."""


@dataclass(frozen=True)
class Agreement:
    rows: int  # rows re-scored
    total: int  # rows in the evaluation file
    disagree: int
    seed: int | None  # the sample's seed (None: every row)
    isolation: str
    worst_segments: list[dict[str, Any]] = field(default_factory=list)  # over tolerance

    @property
    def rate(self) -> float:
        return self.disagree / self.rows if self.rows else 1.0

    @property
    def agrees(self) -> bool:
        return self.rows > 0 and self.rate <= TOLERANCE and not self.worst_segments


def sample(frame, seed: int | None = None):
    """All rows, or a random sample of RESCORE_ROWS with its seed."""
    if len(frame) <= RESCORE_ROWS:
        return frame, None
    seed = seed if seed is not None else int.from_bytes(os.urandom(4), "little")
    return frame.sample(n=RESCORE_ROWS, random_state=seed), seed


def rescore(artifact: Path, trusted: list[str], frame, prediction: str,
            segments: list[str], seed: int | None = None) -> Agreement:
    """Re-score `frame` (the evaluation rows) with the artifact and compare with `prediction`."""
    rows, seed = sample(frame, seed)
    features = rows.drop(columns=[prediction])
    with tempfile.TemporaryDirectory(prefix="aisec-rescore-") as folder:
        data, out = Path(folder) / "rows.parquet", Path(folder) / "predicted.parquet"
        features.reset_index(drop=True).to_parquet(data)
        isolation = run_worker([str(artifact), str(data), str(out), *trusted], folder)
        import pandas as pd

        predicted = pd.read_parquet(out)["predicted"]
    if len(predicted) != len(rows):
        raise RescoreError(f"the worker returned {len(predicted)} predictions for {len(rows)} rows")
    differ = ~same(rows[prediction].reset_index(drop=True), predicted)
    return Agreement(len(rows), len(frame), int(differ.sum()), seed, isolation,
                     over_tolerance(rows.reset_index(drop=True), differ, segments))


def same(declared, predicted):
    """Element-wise equality, numerically when both sides are numbers (1 == 1.0 == True)."""
    import pandas as pd

    left, right = pd.to_numeric(declared, errors="coerce"), pd.to_numeric(predicted, errors="coerce")
    if left.notna().all() and right.notna().all():
        return left.astype(float) == right.astype(float)
    return declared.astype(str) == predicted.astype(str)


def over_tolerance(rows, differ, segments: list[str]) -> list[dict[str, Any]]:
    worst = []
    for column in segments:
        if column not in rows:
            continue
        for value, group in differ.groupby(rows[column].astype(str)):
            allowed = max(1, int(TOLERANCE * len(group)))
            if int(group.sum()) > allowed:
                worst.append({"segment": f"{column}={value}", "rows": len(group),
                              "disagree": int(group.sum())})
    return worst


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_BYTES, OUTPUT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def network_namespace() -> list[str]:
    """`unshare -rn` when this kernel lets an unprivileged process drop its network, else []."""
    tool = shutil.which("unshare")
    if tool is None:
        return []
    try:
        probe = subprocess.run([tool, "-rn", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [tool, "-rn"] if probe.returncode == 0 else []


def run_worker(args: list[str], home: str) -> str:
    """Run the worker confined; return how its network was cut. Raises RescoreError."""
    prefix = network_namespace()
    isolation = "no network namespace (unshare -rn)" if prefix else "sockets refused in-process (audit hook)"
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [*prefix, sys.executable, "-I", "-m", "aisec_pipeline.binding.rescore", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=home,
                              timeout=TIMEOUT_SECONDS, preexec_fn=_limits)
    except subprocess.TimeoutExpired:
        raise RescoreError(f"re-scoring took longer than {TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise RescoreError(f"the artifact could not be re-scored: {last[:300]}")
    return isolation


NETWORK_EVENTS = frozenset({"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
                            "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"})


def _refuse_network() -> None:
    """An audit hook (it cannot be removed) refusing every socket connection or name lookup."""
    def hook(event: str, _args) -> None:
        if event in NETWORK_EVENTS:
            raise OSError(f"network access is refused while re-scoring ({event})")

    sys.addaudithook(hook)


def worker(artifact: str, data: str, out: str, trusted: list[str]) -> int:
    _refuse_network()
    import pandas as pd

    if trusted[:1] == [ONNX_FLAG]:
        return onnx_worker(artifact, pd.read_parquet(data), out)
    from skops.io import get_untrusted_types, load

    found = get_untrusted_types(file=artifact)
    untrusted = sorted(set(found) - set(trusted))
    if untrusted:
        print(f"skops types the registry does not trust: {', '.join(untrusted)}", file=sys.stderr)
        return 3
    model = load(artifact, trusted=found)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        print("the model does not name its input features (fit it on a DataFrame)", file=sys.stderr)
        return 4
    rows = pd.read_parquet(data)
    missing = [str(n) for n in names if n not in rows.columns]
    if missing:
        print(f"the evaluation file lacks the model's input columns: {', '.join(missing)}", file=sys.stderr)
        return 5
    predicted = model.predict(rows[list(names)])
    pd.DataFrame({"predicted": predicted}).to_parquet(out)
    return 0


ONNX_FLAG = "--onnx"


def onnx_worker(artifact: str, rows, out: str) -> int:
    import numpy as np
    import onnxruntime
    import pandas as pd

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(artifact, options, providers=["CPUExecutionProvider"])
    feeds = {}
    for node in session.get_inputs():
        if node.name not in rows.columns:
            print(f"the evaluation file lacks the model's input column {node.name!r}", file=sys.stderr)
            return 5
        dtype = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
                 "tensor(int32)": np.int32, "tensor(string)": object}.get(node.type)
        if dtype is None:
            print(f"input {node.name!r} has a type the worker does not feed: {node.type}", file=sys.stderr)
            return 6
        column = rows[node.name].to_numpy().astype(dtype)
        feeds[node.name] = column.reshape(-1, 1) if len(node.shape) == 2 else column
    predicted = np.asarray(session.run([session.get_outputs()[0].name], feeds)[0]).reshape(-1)
    pd.DataFrame({"predicted": predicted}).to_parquet(out)
    return 0


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
