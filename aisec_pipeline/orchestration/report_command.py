"""`aisec report` and `aisec evidence MODEL`: the committee pack, regulatory evidence and AI-BOM.

Both materialize the reporting assets through Dagster (the instance in $DAGSTER_HOME, the one
`aisec gate` writes to), so every export is also a run in the UI. They read what the gate
recorded; they measure nothing. Only the standard library is imported here.
"""

import argparse
import shutil
import sys
from pathlib import Path

from ..exits import EXIT_BLOCKED as EXIT_FAILED
from ..exits import EXIT_OK, EXIT_USAGE, fail

DEFAULT_PACK = Path("aisec-committee-pack.html")


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="the monthly committee pack (HTML), regulatory evidence and AI-BOM, through Dagster")
    report.add_argument("--out", type=Path, default=DEFAULT_PACK, metavar="FILE",
                        help=f"where to copy the committee pack (default: {DEFAULT_PACK})")
    _inventory_option(report)
    report.set_defaults(handler=run_report)
    evidence = subparsers.add_parser(
        "evidence", help="one model's regulatory matrix (Markdown, JSON) and Annex IV documentation")
    evidence.add_argument("model", metavar="MODEL")
    evidence.add_argument("--out", type=Path, metavar="DIR",
                          help="folder to write the files to (default: ./aisec-evidence-MODEL)")
    _inventory_option(evidence)
    evidence.set_defaults(handler=run_evidence)


def _inventory_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inventory", type=Path, metavar="DIR",
                        help="inventory folder (default: $AISEC_INVENTORY or ./assets)")


_fail = fail


def _load(args: argparse.Namespace):
    """(root, models), or raises InventoryError."""
    from ..inventory import load_inventory, resolve_inventory

    root = resolve_inventory(args.inventory)
    return root, load_inventory(root)


def _materialize(args: argparse.Namespace, choose) -> tuple[int, dict | None, list]:
    """Load the inventory, pick the models and asset keys with `choose(models)`, run them.
    Returns (exit code, files per asset key, models)."""
    from . import quiet_dagster

    quiet_dagster()
    from ..inventory import InventoryError
    from .gate import dagster_instance
    from .reporting import ReportFailed, materialize_reports

    try:
        root, models = _load(args)
        models, keys = choose(models)
    except InventoryError as exc:
        return _fail(f"inventory error: {str(exc).strip()}".replace("\n", "; "), EXIT_USAGE), None, []
    except LookupError as exc:  # an unknown model name
        return _fail(str(exc.args[0]), EXIT_USAGE), None, []
    try:
        return EXIT_OK, materialize_reports(root, models, keys, dagster_instance()), models
    except ReportFailed as exc:
        return _fail(f"report failed: {exc}", EXIT_FAILED), None, models


def run_report(args: argparse.Namespace) -> int:
    from .model_assets import asset_key
    from .reporting import AI_BOM_FILE, AI_BOM_KEY, PACK_FILE, PACK_KEY, REGULATORY_KIND, reporting_keys

    code, files, models = _materialize(args, lambda models: (models, reporting_keys(models)))
    if files is None:
        return code
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files[PACK_KEY][PACK_FILE], args.out)
    except OSError as exc:
        return _fail(f"cannot write the committee pack to {args.out}: {exc.strerror or exc}", EXIT_FAILED)
    print(f"committee pack ({len(models)} models): {args.out}")
    print("regulatory evidence (matrix Markdown + JSON, Annex IV technical documentation):")
    for model in models:
        written = files[asset_key(model.name, REGULATORY_KIND)].values()
        print(f"  {model.name}: {' '.join(str(path) for path in written)}")
    print(f"AI-BOM (CycloneDX 1.6): {files[AI_BOM_KEY][AI_BOM_FILE]}")
    _warn_never_gated(models)
    return EXIT_OK


def run_evidence(args: argparse.Namespace) -> int:
    from .model_assets import asset_key
    from .reporting import REGULATORY_KIND

    def choose(models):
        chosen = [m for m in models if m.name == args.model]
        if not chosen:
            raise LookupError(f"unknown model {args.model!r}; known: "
                              f"{', '.join(sorted(m.name for m in models)) or 'none'}")
        return chosen, [key]

    key = asset_key(args.model, REGULATORY_KIND)
    code, files, models = _materialize(args, choose)
    if files is None:
        return code
    out = args.out or Path(f"aisec-evidence-{args.model}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        copies = [Path(shutil.copy(path, out / path.name)) for path in files[key].values()]
    except OSError as exc:
        return _fail(f"cannot write the evidence to {out}: {exc.strerror or exc}", EXIT_FAILED)
    print(f"regulatory evidence for {args.model}: {' '.join(str(p) for p in copies)}")
    _warn_never_gated(models)
    return EXIT_OK


def _warn_never_gated(models) -> None:
    from .gate import dagster_instance, latest_decision

    instance = dagster_instance()
    never = [m.name for m in models if latest_decision(instance, m) is None]
    if never:
        print(f"aisec: note: never gated, shown as blocked with evidence missing: {', '.join(never)} "
              "(run `aisec gate` first)", file=sys.stderr)
