"""picklescan 1.0.5 in strict mode: every global it does not know is a finding, unless the
project's allowlist or the caller's trusted types accept it (picklescan knows neither)."""

from __future__ import annotations

from typing import BinaryIO

from ..context import ScanContext
from ..pickle_policy import DEFAULT_ALLOWLIST, accepted_in_context

NAME = "picklescan"


def scan_pickle(stream: BinaryIO, ctx: ScanContext, label: str) -> None:
    # The private helpers are used because the public scan_pickle_bytes reports an unparseable
    # stream with no globals as clean; pinned to picklescan==1.0.5.
    from picklescan.scanner import GenOpsError, SafetyLevel, _build_scan_result_from_raw_globals, _list_globals

    try:
        raw_globals = _list_globals(stream, multiple_pickles=True)
    except GenOpsError as exc:
        ctx.error(NAME, "engine-failed", f"picklescan could not parse the stream: {exc}", label)
        raw_globals = exc.globals or set()
    result = _build_scan_result_from_raw_globals(raw_globals, label, strict=True)
    for found in result.globals:
        qualified = f"{found.module}.{found.name}"
        if found.safety is SafetyLevel.Innocuous or _accepted(found.module, found.name, qualified, ctx):
            continue
        if _in_unsafe_list(found.module, found.name):
            ctx.flag("picklescan.dangerous-global", f"dangerous global {qualified}", label, engine=NAME)
        else:
            ctx.flag("picklescan.unknown-global", f"unknown global {qualified}", label, engine=NAME)


def _accepted(module: str, name: str, qualified: str, ctx: ScanContext) -> bool:
    if ctx.torchscript and accepted_in_context(f"{module}.{name}", True):
        return True
    if _in_unsafe_list(module, name) or "unknown" in (module, name):
        return False
    return (qualified in DEFAULT_ALLOWLIST or qualified in ctx.trusted_types
            or accepted_in_context(qualified, ctx.torchscript))


def _in_unsafe_list(module: str, name: str) -> bool:
    from picklescan.scanner import _unsafe_globals

    parts = module.split(".")
    for index in range(len(parts), 0, -1):
        listed = _unsafe_globals.get(".".join(parts[:index]))
        if listed == "*" or (index == len(parts) and listed is not None and name in listed):
            return True
    return False
