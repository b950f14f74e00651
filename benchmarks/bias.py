"""Benchmark: `aisec bias` end to end at scale. Prints figures and ratios; not a timed test.

Every figure is the wall time of a fresh process (and that child's own peak RSS, from
`os.wait4`), so start-up, reading and output count, as they do for a user. Parts:

  startup      `aisec bias` on a 10-row CSV (start-up and nothing else) / `python -c pass`, and
               the slowest imports from `python -X importtime`.
  compare      `aisec bias` on a 1M-row CSV (2 segment columns, 6 x 4 values, intersections)
               against fairlearn's MetricFrame on the same rows already in memory (its import and
               reading not counted: the baseline is favoured). Goal >= 20x.
  cardinality  `aisec bias` on 200k rows whose first segment column has 10,000 values, with
               intersections (83,374 segments), against a pandas groupby of the same counts
               (a fresh process: import, read_csv, the three groupings). Goal <= 2x. Also with
               --json (every segment and review item written), for information.
  engine       10M synthetic rows in memory, the counts engine alone. Goals: < 10 s, < 2 GB.
  large        `aisec bias` on a Parquet (or, --large-format csv, CSV; --compress gzip) file of
               40M rows x 4 columns with intersections. Goal < 2 GB peak. Baseline in the same
               run: pandas reading the same four columns whole.

    .venv/bin/python benchmarks/bias.py [--parts startup,compare,cardinality,engine,large]
                                         [--large-rows 40000000] [--large-format parquet|csv]
                                         [--compress gzip] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
METRICS = ("selection_rate", "tpr", "fpr", "precision", "accuracy")
GROUPBY = ("import sys\n"
           "import numpy as np, pandas as pd\n"
           "frame = pd.read_csv(sys.argv[1])\n"
           "outcome = frame['label'] * 2 + frame['prediction']\n"
           "for code, name in enumerate(('tn', 'fp', 'fn', 'tp')):\n"
           "    frame[name] = (outcome == code).astype(np.int64)\n"
           "for grouping in (['shop'], ['region'], ['shop', 'region']):\n"
           "    frame.groupby(grouping)[['tp', 'fp', 'tn', 'fn']].sum()\n")


def synthetic(rows: int, seed: int = 0):
    """Two categorical segment columns (6 x 4 values) and a prediction correlated with the label."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    region = pd.Categorical.from_codes(rng.integers(0, 6, rows, dtype=np.int8), [f"r{i}" for i in range(6)])
    band = pd.Categorical.from_codes(rng.integers(0, 4, rows, dtype=np.int8), ["<25", "25-45", "45-65", ">65"])
    label = (rng.random(rows) < 0.4).astype(np.int8)
    prediction = np.where(rng.random(rows) < 0.75, label, 1 - label).astype(np.int8)
    return pd.DataFrame({"region": region, "band": band, "label": label, "prediction": prediction})


def engine_run(frame) -> float:
    from aisec_pipeline.fairness.bias import measure_bias
    from aisec_pipeline.fairness.counts import cell_counts
    from aisec_pipeline.governance.policy import BiasPolicy

    started = time.perf_counter()
    counts = cell_counts(frame, "label", "prediction", ["region", "band"])
    report = measure_bias(counts, ["region", "band"], BiasPolicy(max_difference=0.1, metrics=METRICS),
                          [("region", "band")])
    elapsed = time.perf_counter() - started
    assert len(report.rows) == 6 + 4 + 24 and report.cells["ci_low"].notna().all()
    return elapsed


def fairlearn_run(frame) -> float:
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score, precision_score

    metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
               "precision": lambda y, p: precision_score(y, p, zero_division=0), "accuracy": accuracy_score}
    started = time.perf_counter()
    for features in (["region"], ["band"], ["region", "band"]):
        _ = MetricFrame(metrics=metrics, y_true=frame["label"], y_pred=frame["prediction"],
                    sensitive_features=frame[features]).by_group
    return time.perf_counter() - started


def write_cardinality_csv(path: Path, values: int, rows: int = 200_000, seed: int = 1) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    label = (rng.random(rows) < 0.4).astype(np.int8)
    pd.DataFrame({
        "label": label,
        "prediction": np.where(rng.random(rows) < 0.8, label, 1 - label),
        "shop": [f"shop-{i}" for i in rng.integers(0, values, rows)],
        "region": [f"r{i}" for i in rng.integers(0, 8, rows)],
    }).to_csv(path, index=False)


def write_large(path: Path, rows: int, batch: int = 4_000_000) -> None:
    """Parquet or CSV (by suffix), written in batches so that generating it needs little memory."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    regions = pa.array([f"region-{i}" for i in range(50)])
    bands = pa.array(["<25", "25-45", "45-65", ">65"])
    writer = None
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        label = (rng.random(n) < 0.4).astype(np.int8)
        table = pa.table({
            "label": label,
            "prediction": np.where(rng.random(n) < 0.75, label, 1 - label).astype(np.int8),
            "region": regions.take(pa.array(rng.integers(0, 50, n))),
            "band": bands.take(pa.array(rng.integers(0, 4, n))),
        })
        if path.suffix == ".csv":
            writer = writer or pcsv.CSVWriter(path, table.schema)
            writer.write_table(table)
        else:
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=1_000_000)
    writer.close()


def pandas_read(path: str) -> None:
    import pandas as pd

    columns = ["label", "prediction", "region", "band"]
    csv = path.endswith((".csv", ".csv.gz"))
    frame = pd.read_csv(path, usecols=columns) if csv else pd.read_parquet(path, columns=columns)
    print(json.dumps({"rows": len(frame)}))


def child(part: str, rows: int, extra: list[str]) -> None:
    sys.path.insert(0, str(REPO))
    if part == "pandas-read":
        return pandas_read(extra[0])
    if part == "fairlearn":  # the CLI's own input file, read as pandas reads it (not timed)
        import pandas as pd

        return print(json.dumps({"fairlearn_s": fairlearn_run(pd.read_csv(extra[0]))}))
    started = time.perf_counter()
    frame = synthetic(rows)
    result = {"generate_s": time.perf_counter() - started}
    if part == "engine":
        result["seconds"] = engine_run(frame)
    print(json.dumps(result))


def run(command: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, the child's own peak RSS in GB, exit code, stdout): the child is reaped
    with os.wait4 so that its rusage is its own, not the maximum over earlier children."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        output, errors = out.read(), err.read()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({process.returncode}): {errors.strip()[-800:]}")
    run.stderr = errors
    return elapsed, usage.ru_maxrss / 1024 / 1024, process.returncode, output


def best(command: list[str], repeat: int = 3) -> float:
    """The fastest of `repeat` runs: the figure least disturbed by other work on the machine."""
    return min(run(command)[0] for _ in range(repeat))


def python_child(part: str, rows: int, *extra: str) -> tuple[dict, float, float]:
    elapsed, peak, _, output = run([sys.executable, __file__, "--child", part, "--rows", str(rows), *extra])
    return json.loads(output.strip().splitlines()[-1]), elapsed, peak


def bias_command(*args: str) -> list[str]:
    """The real `aisec` entry point (every subcommand registered), as a user runs it."""
    return [sys.executable, "-m", "aisec_pipeline.cli", "bias", *args]


def aisec_bias(*args: str) -> tuple[float, float, int, str]:
    return run(bias_command(*args))


def part_engine(args) -> None:
    data, _, data_peak = python_child("data", args.rows)
    engine, _, engine_peak = python_child("engine", args.rows)
    print(f"engine, {args.rows:,} rows in memory, 2 segment columns + intersection (34 segments x 6 metrics):")
    print(f"  wall time        {engine['seconds']:.2f} s   (goal < 10 s; generating the rows took "
          f"{engine['generate_s']:.2f} s, not counted)")
    print(f"  peak RSS         {engine_peak:.2f} GB  (goal < 2 GB; the data alone peaks at {data_peak:.2f} GB)")


def part_startup(args, workdir: Path) -> None:
    tiny = workdir / "tiny.csv"
    tiny.write_text("label,prediction,region,band\n" + "".join(f"{i % 2},{i // 2 % 2},r{i % 3},b{i % 2}\n"
                                                               for i in range(10)))
    common = ("--data", str(tiny), "--label", "label", "--prediction", "prediction", "--segments", "region,band")
    cli, bare = best(bias_command(*common), 5), best([sys.executable, "-c", "pass"], 5)
    print("start-up: `aisec bias` on a 10-row CSV (best of 5):")
    print(f"  aisec bias       {cli:.2f} s   (python -c pass: {bare:.2f} s; ratio {cli / bare:.1f}x)")
    run([sys.executable, "-X", "importtime", "-m", "aisec_pipeline.cli", "bias", *common])
    print("  slowest imports (python -X importtime, own time per package): " + ", ".join(
        f"{name} {seconds:.2f} s" for name, seconds in slowest_imports(run.stderr)))


def slowest_imports(report: str, shown: int = 6) -> list[tuple[str, float]]:
    """Packages by the import time of their own modules (self time summed per top-level
    package), from `-X importtime` output."""
    totals: dict[str, float] = {}
    for line in report.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[0].strip().isdigit():
            package = fields[2].strip().split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(fields[0]) / 1e6
    return sorted(totals.items(), key=lambda item: -item[1])[:shown]


def part_compare(args, workdir: Path) -> None:
    path = workdir / f"compare-{args.compare_rows}.csv"
    if not path.exists():
        synthetic(args.compare_rows).to_csv(path, index=False)
    cli = best(bias_command("--data", str(path), "--label", "label", "--prediction", "prediction",
                            "--segments", "region,band", "--intersections"))
    compare, _, _ = python_child("fairlearn", args.compare_rows, str(path))
    print(f"same three groupings on {args.compare_rows:,} rows, {len(METRICS)} metrics:")
    print(f"  fairlearn MetricFrame  {compare['fairlearn_s']:.2f} s (point values only; rows already in memory)")
    print(f"  aisec bias, whole CLI  {cli:.2f} s (reading the CSV, intervals and tests, output; best of 3)")
    print(f"  speed ratio            {compare['fairlearn_s'] / cli:.1f}x  (goal >= 20x)")


def part_cardinality(args, workdir: Path) -> None:
    path = workdir / "cardinality-10000.csv"
    write_cardinality_csv(path, 10_000)
    common = ("--data", str(path), "--label", "label", "--prediction", "prediction", "--segments", "shop,region",
              "--intersections")
    cli = best(bias_command(*common))
    groupby = best([sys.executable, "-c", GROUPBY, str(path)])
    out = workdir / "cardinality.json"
    with_json, peak, code, stdout = aisec_bias(*common, "--json", str(out))
    segments = len(json.loads(out.read_text())["segments"])
    print(f"200,000 rows, 10,000 x 8 segment values with intersections ({segments:,} segments), best of 3:")
    print(f"  aisec bias, whole CLI       {cli:.2f} s  ({len(stdout.splitlines())} lines of text)")
    print(f"  pandas groupby (a process)  {groupby:.2f} s  (import, read_csv, three groupings of TP/FP/TN/FN)")
    print(f"  ratio                       {cli / groupby:.1f}x  (goal <= 2x)")
    print(f"  with --json                 {with_json:.2f} s, {peak:.2f} GB peak, exit {code} "
          f"(every segment and review item, {out.stat().st_size / 1e6:.0f} MB)")


def part_large(args, workdir: Path) -> None:
    path = workdir / f"large-{args.large_rows}.{args.large_format}"
    if not path.exists():
        started = time.perf_counter()
        write_large(path, args.large_rows)
        print(f"(wrote {args.large_rows:,} rows to {path.name}, {path.stat().st_size / 1e6:.0f} MB, "
              f"in {time.perf_counter() - started:.0f} s)")
    if args.compress and args.large_format == "csv":
        packed = path.with_suffix(".csv.gz")
        if not packed.exists():
            subprocess.run(["gzip", "-1", "-k", "-f", str(path)], check=True)
        path = packed
    print(f"aisec bias CLI, {args.large_rows:,} rows x 4 columns ({path.name}), "
          "--segments region,band --intersections:")
    elapsed, peak, code, _ = aisec_bias("--data", str(path), "--label", "label", "--prediction", "prediction",
                                        "--segments", "region,band", "--intersections",
                                        "--json", str(workdir / "large.json"))
    print(f"  wall time        {elapsed:.1f} s, exit {code}")
    print(f"  peak RSS         {peak:.2f} GB  (goal < 2 GB)")
    _, read_s, read_peak = python_child("pandas-read", 0, str(path))
    print(f"  baseline: pandas reading the 4 columns whole: {read_s:.1f} s, {read_peak:.2f} GB peak "
          f"(ratio of peaks {peak / read_peak:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--compare-rows", type=int, default=1_000_000)
    parser.add_argument("--large-rows", type=int, default=40_000_000)
    parser.add_argument("--large-format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--parts", default="startup,compare,cardinality,engine,large")
    parser.add_argument("--workdir", type=Path, help="where generated data files go (default: a temp dir)")
    parser.add_argument("--compress", choices=("gzip",), help="large: gzip the CSV first")
    parser.add_argument("--child", choices=("data", "engine", "fairlearn", "pandas-read"))
    args, extra = parser.parse_known_args()
    if args.child:
        return child(args.child, args.rows, extra)
    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory(prefix="aisec-bias-bench-") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        if "startup" in parts:
            part_startup(args, workdir)
        if "compare" in parts:
            part_compare(args, workdir)
        if "cardinality" in parts:
            part_cardinality(args, workdir)
        if "engine" in parts:
            part_engine(args)
        if "large" in parts:
            part_large(args, workdir)


if __name__ == "__main__":
    main()
