"""`aisec`: the command line CI pipelines rely on.

Exit codes: 0 success / approved / safe, 1 blocked / unsafe / failed, 2 usage or inventory error.
`scan`, `bias`, `card` and `redteam` call the core directly and never import Dagster; `gate` and
`models` go through Dagster.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from .exits import EXIT_BLOCKED, EXIT_OK, EXIT_SIGNAL_BASE, EXIT_USAGE, error_line  # noqa: F401 - re-exported
from .judge import JudgeRefused
from .orchestration import quiet_dagster

# Each module adds its own subcommand(s) with `register(subparsers)`; their imports are light.
COMMAND_MODULES = (
    "aisec_pipeline.scanning.command",
    "aisec_pipeline.provenance.command",
    "aisec_pipeline.cards.command",
    "aisec_pipeline.binding.command",
    "aisec_pipeline.fairness.command",
    "aisec_pipeline.redteam.command",
    "aisec_pipeline.governance.command",
    "aisec_pipeline.governance.trust_command",
    "aisec_pipeline.orchestration.report_command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aisec", description="The AI deployment gate.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    register_gate(subparsers)
    return parser


def register_gate(subparsers) -> None:
    gate = subparsers.add_parser("gate", help="gate models through Dagster: approved or blocked, with reasons")
    gate.add_argument("models", nargs="*", metavar="MODEL")
    gate.add_argument("--all", action="store_true", help="every model in the inventory")
    gate.add_argument("--force", action="store_true",
                      help="re-measure all evidence (default: reuse evidence whose inputs are unchanged and fresh)")
    gate.add_argument("--use-case", help="the use case this deployment is for (must be validated on the card)")
    gate.add_argument("--environment", help="where it is deployed (policy `environments`: each needs the same "
                      "artifact and reviewed card approved in the one before)")
    gate.add_argument("--manifest", type=Path, metavar="FILE",
                      help="a deployment manifest (model, version, use_case, environment) to gate")
    gate.add_argument("--inventory", type=Path, help="inventory folder (default: $AISEC_INVENTORY or ./assets)")
    gate.add_argument("--remote", metavar="URL",
                      help="run each model's gate on the Dagster deployment at URL (its webserver) and "
                           "wait: same outputs and exit codes (token: $AISEC_REMOTE_TOKEN)")
    gate.add_argument("--dev-run", action="store_true",
                      help="a development run: judge an inventory in the same repository as this gate's "
                           "own code (refused otherwise: a change under review could change the judge; "
                           "never in CI)")
    gate.add_argument("--json", type=Path, metavar="FILE", help="write the decisions as JSON")
    gate.add_argument("--sarif", type=Path, metavar="FILE", help="write SARIF 2.1.0 (one result per failing check)")
    gate.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML (one test case per model x check)")
    gate.set_defaults(handler=run_gate)
    models = subparsers.add_parser("models", help="the inventory with versions, owners and last decision")
    models.add_argument("--inventory", type=Path)
    models.set_defaults(handler=run_models)


def select_models(args, models):
    if args.manifest:
        return manifest_models(args, models)
    if args.all == bool(args.models):
        raise UsageError("name one or more models, or --all (not both)")
    if args.all:
        return models
    by_name = {m.name: m for m in models}
    unknown = [n for n in args.models if n not in by_name]
    if unknown:
        raise UsageError(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(sorted(by_name))}")
    return [by_name[n] for n in args.models]


def manifest_models(args, models):
    """The one model a deployment manifest names; its use case becomes the gate's use case."""
    from .governance.manifest import load_manifest

    if args.all or args.models or args.use_case or args.environment:
        raise UsageError("--manifest names the model, use case and environment itself: give no "
                         "MODEL, --all, --use-case or --environment")
    manifest = load_manifest(args.manifest)
    by_name = {m.name: m for m in models}
    if manifest.model not in by_name:
        raise UsageError(f"{args.manifest}: model {manifest.model!r} is not in the inventory")
    if manifest.version != by_name[manifest.model].entry.version:
        raise ManifestMismatch(f"{args.manifest}: asks for {manifest.model} {manifest.version}, the registry "
                               f"holds {by_name[manifest.model].entry.version}: only the registered version can be gated")
    args.use_case, args.environment = manifest.use_case, manifest.environment
    return [by_name[manifest.model]]


class UsageError(Exception):
    pass


class ManifestMismatch(Exception):
    """The deployment asks for something the registry does not hold: blocked, not a usage error."""


def inventory_root(args) -> Path:
    from .inventory import resolve_inventory

    return resolve_inventory(args.inventory)


def run_gate(args) -> int:
    quiet_dagster()
    from .inventory import load_inventory
    from .orchestration.gate import CouldNotJudge, GateInterrupted

    root = inventory_root(args)
    args.judge = judge_apart(args, root)
    models = select_models(args, load_inventory(root))
    if not models:
        raise UsageError(f"no models selected: {root / 'models'} holds no registry entry, so "
                         "there is nothing to gate (a gate that checks nothing must not pass)")
    with StopOnSignal() as stop:
        try:
            decisions = gate_for(args, root).run(models, args.use_case, args.force,
                                                 interrupted=stop.signal, environment=args.environment)
        except GateInterrupted as exc:
            return report_interrupt(args, exc, root, len(models))
        except CouldNotJudge as exc:
            print(f"aisec: could not judge: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print(decision_table(decisions))
    write_outputs(args, decisions, root)
    return EXIT_OK if all(d.approved for d in decisions) else EXIT_BLOCKED


def judge_apart(args, root: Path) -> dict:
    """Refuse to judge when the judge could be steered by what it judges (its own code inside
    the judged repository, unless --dev-run; its instance tracked by git or inside the
    inventory); otherwise say which code judges, on stderr and in --json."""
    from .judge import JudgeRefused, code_version, instance_home, instance_problem, self_judging

    own_code = self_judging(root)
    if own_code and not args.dev_run:
        raise JudgeRefused(own_code)
    home = None if args.remote else instance_home()
    problem = instance_problem(home, root) if home else None
    if problem:
        raise JudgeRefused(problem)
    code = code_version()
    remote = without_credentials(args.remote) if args.remote else None
    print(f"aisec gate: judged by {code.label()}; instance "
          f"{home or f'of the deployment at {remote}'}", file=sys.stderr)
    if own_code:
        print("aisec gate: DEVELOPMENT RUN (--dev-run): the gate's own code sits in the repository "
              "it judges, so no one may rely on these decisions", file=sys.stderr)
    return {**code.to_dict(), "development_run": bool(own_code), "instance": str(home) if home else None,
            "remote": remote}


def without_credentials(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def gate_for(args, root: Path):
    """In-process on this machine's instance, or on the Dagster deployment at --remote URL."""
    if args.remote:
        from .orchestration.remote import RemoteGate

        try:
            return RemoteGate(args.remote, root)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    from .orchestration.gate import Gate, dagster_instance

    return Gate(root, dagster_instance())


class StopOnSignal:
    """SIGINT/SIGTERM end the gate: the model in flight is interrupted (Dagster stops its step;
    the model server and garak are stopped by their own cleanup) and no further model starts.

    During a run Dagster installs its own handlers (and maps SIGTERM to SIGINT), so which signal
    arrived is read from a wakeup pipe, which the interpreter writes whatever handler runs."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}
        self._pipe: tuple[int, int] | None = None
        self._previous_fd = -1

    def signal(self) -> int | None:
        """The first signal received so far, if any."""
        if self.received is None and self._pipe is not None:
            try:
                data = os.read(self._pipe[0], 64)
            except BlockingIOError:
                data = b""
            if data:
                self.received = data[0]
        return self.received

    def _handle(self, signum, frame):
        if self.received is None:
            self.received = signum
            raise KeyboardInterrupt

    def __enter__(self):
        import signal

        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        self._pipe = (read, write)
        self._previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for name in self.SIGNALS:
            signum = getattr(signal, name)
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)
        for fd in self._pipe or ():
            os.close(fd)
        return False


def report_interrupt(args, exc, root: Path, total: int) -> int:
    """One line, the decisions made so far (the interrupted one blocked), exit 128 + signal."""
    done = exc.decisions
    print(decision_table(done))
    write_outputs(args, done, root)
    print(f"aisec: interrupted by signal {exc.signum}: gated {len(done) - 1} of {total} model(s), "
          f"{done[-1].model} blocked as interrupted, {total - len(done)} not started", file=sys.stderr)
    return EXIT_SIGNAL_BASE + exc.signum


def write_outputs(args, decisions, root: Path) -> None:
    from .ci_reports import write_junit, write_sarif
    from .inventory.loader import MODELS_DIR

    if args.json:
        write_json(args.json, {"judge": getattr(args, "judge", None),
                               "models": [d.to_dict() for d in decisions]})
    if args.sarif:
        write_sarif(args.sarif, decisions, Path(os.path.relpath(root / MODELS_DIR)))
    if args.junit:
        write_junit(args.junit, decisions)


REASONS_PER_CHECK = 6


def decision_table(decisions) -> str:
    from .ci_reports import checks_for

    lines = [f"{'MODEL':28} {'VERSION':10} {'TIER':7} DECISION"]
    for d in decisions:
        lines.append(f"{d.model:28} {d.version:10} {d.tier:7} {d.label.upper()}")
        for check, reasons in checks_for(d).items():
            lines += [f"    - {reason}" for reason in reasons[:REASONS_PER_CHECK]]
            if len(reasons) > REASONS_PER_CHECK:
                lines.append(f"    ... {len(reasons) - REASONS_PER_CHECK} more for {check} "
                             "(all in --json and the Dagster UI)")
    return "\n".join(lines)


def run_models(args) -> int:
    """One line per model, then one per environment it was gated for: version, card digest,
    reviewers and decision, as recorded in the Dagster instance."""
    quiet_dagster()
    from .cards.parse import card_owner_email
    from .governance.policy import load_policy
    from .inventory import load_inventory
    from .orchestration.decision import decisions_by_environment
    from .orchestration.gate import dagster_instance

    root = inventory_root(args)
    models, policy, instance = load_inventory(root), load_policy(root), dagster_instance()
    print(f"{'MODEL':28} {'VERSION':10} {'KIND':10} {'TIER':7} {'OWNER':34} LAST DECISION")
    for model in models:
        latest = decisions_by_environment(instance, model)
        newest = max(latest.values(), key=lambda d: d.decided_at, default=None)
        last = f"{newest.label} ({newest.decided_at[:16]})" if newest else "never gated"
        owner = card_owner_email(model.path(model.entry.card)) or "(no valid owner)"
        print(f"{model.name:28} {model.entry.version:10} {model.entry.kind.value:10} "
              f"{policy.tier_name(model.entry):7} {owner:34} {last}")
        for environment, decision in sorted(latest.items(), key=lambda item: str(item[0])):
            reviewers = ", ".join(decision.reviewers) or "no standing review"
            print(f"    {environment or '(no environment)':16} {decision.version:10} card "
                  f"{decision.card_digest[:12] or '-':12} reviewed by {reviewers}: "
                  f"{decision.label} ({decision.decided_at[:16]})")
    return EXIT_OK


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if "inventory" in vars(args):  # one resolver for every command that reads the inventory
            from .inventory import resolve_inventory

            args.inventory = resolve_inventory(args.inventory)
        return args.handler(args)
    except UsageError as exc:
        print(f"aisec: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except JudgeRefused as exc:
        print(f"aisec: refusing to judge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ManifestMismatch as exc:
        print(f"aisec: BLOCKED: {exc}", file=sys.stderr)
        return EXIT_BLOCKED
    except KeyboardInterrupt:
        print("aisec: interrupted", file=sys.stderr)
        return EXIT_BLOCKED
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        return report_error(exc)


def report_error(exc: Exception) -> int:
    from .inventory import InventoryError

    if isinstance(exc, InventoryError):
        print(f"aisec: inventory error:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"aisec: error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return EXIT_BLOCKED


if __name__ == "__main__":
    sys.exit(main())
