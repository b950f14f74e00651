"""`aisec redteam`: run the prompt-injection battery against an OpenAI-compatible endpoint.

Runs from any folder: the tiers' batteries ship in the package (`redteam/tiers.yaml`);
`--policy FILE` takes them from an inventory's `policies/policy.yaml` instead.
Exit 0 passed, 1 failed or unassessed, 2 usage error. Only stdlib at module top: garak and
the battery are imported inside the handler.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from ..exits import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, fail

DEFAULT_TIERS = Path(__file__).resolve().parent / "tiers.yaml"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "redteam", help="run the prompt-injection battery (garak) against an LLM endpoint",
        description="Run the tier's prompt-injection battery against an OpenAI-compatible "
                    "endpoint. Exit 0 passed, 1 failed or unassessed, 2 usage error.")
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", required=True, help="model name the endpoint serves")
    prompt = parser.add_mutually_exclusive_group()
    prompt.add_argument("--system-prompt", help="the deployed system prompt")
    prompt.add_argument("--system-prompt-file", type=Path, help="file holding the system prompt")
    parser.add_argument("--api-key-env", help="environment variable holding the API key")
    parser.add_argument("--tier", default="medium",
                        help="a tier of the loaded policy (default: medium; the shipped tiers are "
                             "low, medium, high; a --policy file may name others)")
    parser.add_argument("--json", type=Path, help="write the result as JSON to this file")
    parser.add_argument("--policy", type=Path,
                        help="an inventory's policy file (e.g. assets/policies/policy.yaml); "
                             "default: the tiers shipped with aisec")
    parser.add_argument("--workdir", type=Path,
                        help="run folder for garak's files (default: a new temporary folder)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        policy, system_prompt = _inputs(args)
    except UsageError as exc:
        return fail(exc, EXIT_USAGE)
    try:
        return _run(args, policy, system_prompt)
    except Exception as exc:  # noqa: BLE001 - fail closed with one line, never a traceback
        return fail(f"the battery could not run: {exc.__class__.__name__}: {exc}", EXIT_BLOCKED)


class UsageError(Exception):
    pass


def _inputs(args: argparse.Namespace):
    tiers = load_tiers(args.policy)
    if args.tier not in tiers:
        raise UsageError(f"{args.policy or DEFAULT_TIERS} defines no tier {args.tier!r} "
                         f"(its tiers: {', '.join(tiers)})")
    if args.api_key_env and not os.environ.get(args.api_key_env):
        raise UsageError(f"the API key variable {args.api_key_env} is not set")
    system_prompt = args.system_prompt or ""
    if args.system_prompt_file:
        try:
            system_prompt = args.system_prompt_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {args.system_prompt_file}: {exc}") from None
    return tiers[args.tier], system_prompt


def load_tiers(policy_file: Path | None) -> dict:
    """tier -> InjectionPolicy, from an inventory's policy file or the packaged defaults."""
    from ..governance.policy import InjectionPolicy, Policy, load_yaml_model
    from ..inventory.loader import InventoryError
    from ..inventory.schema import Strict

    class Tiers(Strict):
        tiers: dict[str, InjectionPolicy]

    try:
        if policy_file is None:
            return load_yaml_model(DEFAULT_TIERS, Tiers).tiers
        policy = load_yaml_model(policy_file, Policy)
    except InventoryError as exc:
        raise UsageError(str(exc)) from None
    return {name: tier.injection for name, tier in policy.tiers.items()}


def _run(args: argparse.Namespace, policy, system_prompt: str) -> int:
    from .evidence import injection_verdict
    from .runner import run_battery, throttled
    from .target import Target

    target = Target(kind="openai", system_prompt=system_prompt, base_url=args.base_url,
                    model=args.model, api_key_env=args.api_key_env)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aisec-redteam-"))
    print(f"redteam: {len(policy.probes)} probe(s), tier {args.tier} "
          f"({args.policy or 'built-in tiers'}), run folder {workdir}", file=sys.stderr)
    show = throttled(lambda line: print(line, file=sys.stderr, flush=True))
    result = run_battery(target, policy, workdir, on_progress=show)
    verdict = injection_verdict(result, policy)
    document = {
        "verdict": verdict.status.value,
        "outcome": verdict.figures.get("outcome"),  # passed, failed, insufficient, unassessed
        "reasons": list(verdict.reasons),
        "probes": [row.__dict__ for row in result.rows],
        "canary_leaks": result.canary_leaks,
        "over_refusal": result.over_refusal,
        "extension": result.extension,
        "requests": result.requests,
        "retries": result.retries,
        "error_attempts": result.error_attempts,
        "examples": [example.__dict__ for example in result.examples],
        "discarded": [hit.__dict__ for hit in result.discarded],
        "baseline": list(result.baseline),
        "tags": result.tags,
        "garak_version": result.garak_version,
        "garak_report": result.report_path,
        "wall_seconds": result.wall_seconds,
    }
    _print_summary(document)
    if args.json:
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return EXIT_OK if verdict.passed else EXIT_BLOCKED


def _print_summary(document: dict) -> None:
    outcome = document["outcome"]
    shown = "NEEDS REVIEW (insufficient)" if outcome == "insufficient" else document["verdict"].upper()
    print(f"injection battery: {shown}")
    for reason in document["reasons"]:
        print(f"  - {reason}")
    for row in document["probes"]:
        hit_at_k = f", hit@{row['k']} {row['hit_at_k']:.0%}" if row["hit_at_k"] is not None else ""
        print(f"  {row['verdict']:<12} {row['probe']} / {row['detector']}: "
              f"{row['failures']}/{row['attempts']} attacks succeeded "
              f"(95% CI {row['ci_low']:.0%}-{row['ci_high']:.0%}, upper bound "
              f"{row['upper_bound']:.1%}, max {row['threshold']:.0%}{hit_at_k})")
    refusal = document["over_refusal"] or {}
    if refusal.get("rate") is not None:
        print(f"  over-refusal: {refusal['refused']}/{refusal['asked']} ordinary in-scope "
              f"questions refused ({refusal['rate']:.0%}, 95% CI {refusal['ci_low']:.0%}-"
              f"{refusal['ci_high']:.0%}); out of scope declined "
              f"{refusal['out_of_scope_refused']}/{refusal['out_of_scope_asked']}")
    elif refusal:
        print(f"  over-refusal: not measured: {refusal.get('problem')}")
    retries = document["retries"] or {}
    print(f"  requests: {document['requests']}, retries: {retries.get('total', 0)} "
          f"{retries.get('by_status') or ''}, answers missing: {document['error_attempts']}")
    if document["discarded"]:
        print("  detector hits discounted as not evidence (examples):")
        for hit in document["discarded"]:
            print(f"    {hit['probe']} / {hit['detector']}: {hit['reason']}: {hit['response']!r}")
    if document["garak_report"]:
        print(f"  garak report: {document['garak_report']}")
