"""`aisec bias`: bias per segment of a CSV/Parquet file of predictions with known outcomes.

Exit codes: 0 within thresholds, 1 a violation, invalid data or nothing testable, 2 usage.
Only the standard library is imported at module level; the engine loads inside the handler.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bias", help="measure bias per demographic segment (with intervals and significance)",
        description="Rates per segment with Wilson 95% intervals; a gap fails when it exceeds the "
                    "threshold (or the four-fifths ratio for selection rate), its Newcombe interval "
                    "excludes zero, and it survives Holm correction. Exit 0 pass, 1 fail or bad data.")
    parser.add_argument("--data", required=True, type=Path, help="CSV or Parquet file")
    parser.add_argument("--label", required=True, help="column with the true outcome (0/1)")
    parser.add_argument("--prediction", required=True, help="column with the predicted outcome (0/1)")
    parser.add_argument("--segments", required=True, type=_column_list, help="COL[,COL...]")
    parser.add_argument("--intersections", action="store_true", help="also every pair of segments")
    parser.add_argument("--min-count", type=_positive_int, default=30,
                        help="minimum per denominator, below it a segment is insufficient_data (30)")
    parser.add_argument("--threshold", type=_fraction, default=0.10, help="maximum absolute gap (0.10)")
    parser.add_argument("--reference", choices=("overall", "best"), default="overall")
    parser.add_argument("--json", dest="json_path", type=Path, help="write the result as JSON here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..governance.policy import BiasPolicy
    from .bias import measure_bias
    from .counts import DataError, cell_counts
    from .evidence import text_table
    from .tables import TableError, read_table

    try:
        columns = [args.label, args.prediction, *args.segments]
        frame = read_table(args.data)
        missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
        if missing:
            raise DataError(f"{args.data}: column(s) not found: {', '.join(missing)}")
        counts = cell_counts(frame, args.label, args.prediction, args.segments)
        policy = BiasPolicy(max_difference=args.threshold, min_count=args.min_count, reference=args.reference)
        pairs = list(combinations(args.segments, 2)) if args.intersections else []
        report = measure_bias(counts, args.segments, policy, pairs)
    except (TableError, DataError) as exc:
        print(f"aisec bias: invalid data: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # fail closed: one line, never "passed"
        print(f"aisec bias: could not measure: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    result = report.to_json()
    print(text_table(report))
    _print_findings(report)
    if args.json_path:
        if not _write_json(args.json_path, result):
            return 1
    return 0 if result["verdict"] == "passed" else 1


def _print_findings(report) -> None:
    violations, review = report.violations, report.needs_review
    print()
    for violation in violations:
        print(f"VIOLATION: {violation.sentence()}")
    for item in review:
        print(f"needs review (insufficient data): {item}")
    if report.tests_run == 0:
        print(f"FAILED: nothing could be tested (minimum {report.rule.min_count} per denominator)")
    elif not violations:
        print(f"PASSED: no significant gap above {report.rule.threshold:g} in {report.tests_run} tests")
    else:
        print(f"FAILED: {len(violations)} violation(s) in {report.tests_run} tests")


def _write_json(path: Path, result: dict) -> bool:
    try:
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"aisec bias: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


def _column_list(text: str) -> list[str]:
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns:
        raise argparse.ArgumentTypeError("name at least one column")
    if len(set(columns)) != len(columns):
        raise argparse.ArgumentTypeError("a column is named twice")
    return columns


def _bounded(parse, accept, requirement: str):
    """An argparse type: parse the text, then check it; both failures are usage errors."""
    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a valid {parse.__name__}: {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(requirement)
        return value
    return convert


_positive_int = _bounded(int, lambda value: value >= 1, "must be at least 1")
_fraction = _bounded(float, lambda value: 0.0 < value <= 1.0, "must be in (0, 1]")
