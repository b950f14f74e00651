"""`aisec scan PATH... [--json FILE] [--trust TYPE ...]` (stdlib-only at import: start-up matters)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..exits import EXIT_BLOCKED, EXIT_OK, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scan", help="scan model artifacts for unsafe content (never loads them)")
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders (recursive)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the reports as JSON to FILE")
    parser.add_argument("--trust", action="append", default=[], metavar="TYPE",
                        help="fully qualified pickled type to accept, e.g. sklearn.linear_model._logistic.LogisticRegression")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        from .scanner import scan_paths

        reports = scan_paths(args.paths, args.trust, on_progress=_progress)
        if args.json is not None:
            payload = {"files": [r.to_dict() for r in reports]}
            args.json.write_text(json.dumps(payload, indent=2) + "\n")
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        return fail(f"scan: {type(exc).__name__}: {exc}", EXIT_BLOCKED)
    print(_table(reports))
    return EXIT_OK if reports and all(r.verdict == "safe" for r in reports) else EXIT_BLOCKED


def _progress(index: int, total: int, path: Path) -> None:
    try:
        size = f"{path.stat().st_size / 1e6:,.1f} MB"
    except OSError:
        size = "?"
    print(f"[{index + 1}/{total}] scanning {path} ({size})", file=sys.stderr, flush=True)


def _table(reports: list) -> str:
    rows = [("VERDICT", "FORMAT", "PATH", "FINDING")]
    for report in reports:
        blocking = [f for f in report.findings if f.is_error or f.severity in ("critical", "high")]
        first = f"{blocking[0].rule}: {blocking[0].detail}" if blocking else ""
        more = f" (+{len(blocking) - 1} more)" if len(blocking) > 1 else ""
        rows.append((report.verdict.upper(), report.format, report.path, first + more))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aisec scan", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
