"""`aisec bias`: bias per segment of a CSV/Parquet file of predictions with known outcomes.

Exit codes: 0 passed; 1 failed (a violation, or too many rows without label/prediction),
insufficient to judge (needs review), or invalid data; 2 usage (e.g. the label as a segment).
Only the standard library is imported at module level; the engine loads inside the handler.
"""

from __future__ import annotations

import argparse
import json
from itertools import combinations
from pathlib import Path

from ..exits import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, fail


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bias", help="measure bias per demographic segment (with intervals and significance)",
        description="Rates per segment with Wilson 95% intervals; a gap fails when it exceeds the "
                    "threshold (or the four-fifths ratio for selection rate), its Newcombe interval "
                    "excludes zero, and it survives Holm correction. Rows without a label or prediction "
                    "are counted per reason; above --max-excluded of the rows the run fails. "
                    "Exit 0 passed; 1 failed, insufficient to judge (needs review) or bad data; 2 usage.")
    parser.add_argument("--data", required=True, type=Path,
                        help="CSV (optionally .gz/.bz2/.xz/.zst compressed) or Parquet file")
    parser.add_argument("--label", required=True, help="column with the true outcome (0/1, true/false)")
    parser.add_argument("--prediction", required=True, help="column with the predicted outcome (0/1, true/false)")
    parser.add_argument("--segments", required=True, type=_column_list, help="COL[,COL...]")
    parser.add_argument("--intersections", action="store_true", help="also every pair of segments")
    parser.add_argument("--positive", metavar="VALUE",
                        help="the value meaning the positive class, for label/prediction columns such as yes/no")
    parser.add_argument("--min-count", type=_positive_int, default=30,
                        help="minimum per denominator, below it a segment is insufficient_data (30)")
    parser.add_argument("--threshold", type=_fraction, default=0.10, help="maximum absolute gap (0.10)")
    parser.add_argument("--reference", choices=("overall", "best"), default="overall")
    parser.add_argument("--max-excluded", type=_share, default=0.01, metavar="FRACTION",
                        help="largest share of rows without a label or prediction (0.01)")
    parser.add_argument("--protected", action="append", default=[], metavar="SEGMENT",
                        help="a segment column or key (e.g. race or 'race=Other') that must itself be "
                             "judged: below the minimum count the result is insufficient (repeatable)")
    parser.add_argument("--json", dest="json_path", type=Path, help="write the result as JSON here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    usage = _usage_error(args)
    if usage:
        return fail(f"bias: {usage}", EXIT_USAGE)
    from .counts import DataError
    from .tables import TableError

    try:
        report = _measure(args)
    except (TableError, DataError) as exc:
        return fail(f"bias: invalid data: {exc}", EXIT_BLOCKED)
    except Exception as exc:  # noqa: BLE001 - fail closed: one line, never "passed"
        return fail(f"bias: could not measure: {type(exc).__name__}: {exc}", EXIT_BLOCKED)
    _print_report(report)
    if args.json_path and not _write_json(args.json_path, report.to_json()):
        return EXIT_BLOCKED
    return EXIT_OK if report.outcome == "passed" else EXIT_BLOCKED


def _usage_error(args: argparse.Namespace) -> str | None:
    if args.label == args.prediction:
        return f"--label and --prediction both name {args.label!r}"
    for option, column in (("--label", args.label), ("--prediction", args.prediction)):
        if column in args.segments:
            return f"--segments names {column!r}, which is the {option[2:]} column: a segment must be another column"
    return None


def _measure(args: argparse.Namespace):
    from .bias import default_rule, measure_rule
    from .counts import count_file

    counts = count_file(args.data, args.label, args.prediction, args.segments, positive=args.positive)
    rule = default_rule(args.threshold, args.min_count, args.max_excluded, args.protected)
    pairs = list(combinations(args.segments, 2)) if args.intersections else []
    return measure_rule(counts, args.segments, rule, args.reference, pairs)


def _print_report(report) -> None:
    from .evidence import LISTED, ranked_violations, text_table

    print(text_table(report))
    print()
    excluded = "; left out: " + "; ".join(report.exclusion_sentences()) if report.excluded else ", none left out"
    print(f"rows: {report.rows_read} read, {report.n} measured{excluded}")
    statuses = ", ".join(f"{count} {status}" for status, count in report.status_counts().items())
    print(f"segments: {len(report.segment_rows)} ({statuses}); tests run: {report.tests_run}")
    violations = ranked_violations(report)
    _print_listed("VIOLATION: ", [v.sentence() for v in violations[:LISTED]], len(violations), "violations")
    prefix = "needs review: " if report.outcome == "insufficient" else "too few to test: "
    review = [item.sentence() for item in report.review(LISTED)]
    _print_listed(prefix, review, report.review_total, "tests below the minimum")
    print(_conclusion(report))


def _print_listed(prefix: str, sentences: list[str], total: int, what: str) -> None:
    for sentence in sentences:
        print(f"{prefix}{sentence}")
    if total > len(sentences):
        print(f"{prefix}... {total - len(sentences)} more {what} in --json")


def _conclusion(report) -> str:
    if report.outcome == "insufficient":
        return f"INSUFFICIENT (needs review): {report.insufficient_reason()}"
    if report.outcome == "passed":
        return f"PASSED: no significant gap above {report.rule.threshold:g} in {report.tests_run} tests"
    parts = [f"{len(report.violations)} violation(s) in {report.tests_run} tests"] if report.violations else []
    if report.too_many_excluded:
        parts.append(f"{100 * report.excluded_fraction:.1f}% of rows left out "
                     f"(limit {100 * report.rule.max_excluded_fraction:.1f}%)")
    return "FAILED: " + "; ".join(parts)


def json_text(result: dict) -> str:
    """Indented at the top level, one line per list item (segment, violation, review item):
    readable, and linear (an indented `json.dumps` runs the pure-Python encoder: a minute for
    100,000 segments)."""
    encode = _item_encoder()
    fields = []
    for key, value in result.items():
        if isinstance(value, list) and value:
            items = "    " + ",\n    ".join(map(encode, value))
            fields.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            fields.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def _item_encoder():
    """orjson when installed (about 10x faster on large reports; it comes with garak's
    dependencies), else the standard library. Both write the same JSON values."""
    try:
        import orjson
    except ImportError:
        return json.dumps
    return lambda item: orjson.dumps(item).decode("utf-8")


def _write_json(path: Path, result: dict) -> bool:
    try:
        path.write_text(json_text(result), encoding="utf-8")
    except OSError as exc:
        fail(f"bias: cannot write {path}: {exc.strerror or exc}")
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
_share = _bounded(float, lambda value: 0.0 <= value <= 1.0, "must be in [0, 1]")
