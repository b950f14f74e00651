"""modelscan 0.8.8 in-process. Its own routing is by file extension, so the scanners are called
directly on content the sniffer recognised."""

from __future__ import annotations

from typing import Any, BinaryIO

from ..context import ScanContext

NAME = "modelscan"


def scan_pickle(stream: BinaryIO, ctx: ScanContext, label: str) -> None:
    from modelscan.model import Model
    from modelscan.settings import DEFAULT_SETTINGS, SupportedModelFormats
    from modelscan.scanners.pickle.scan import PickleUnsafeOpScan

    model = Model(label or "pickle", stream)
    model.set_context("formats", [SupportedModelFormats.PICKLE])
    _record(PickleUnsafeOpScan(DEFAULT_SETTINGS).scan(model), ctx, label)


def scan_keras(path: str, kind: str, ctx: ScanContext, label: str) -> None:
    """kind: "h5" or "keras"; modelscan needs the real file for both."""
    from modelscan.model import Model
    from modelscan.settings import DEFAULT_SETTINGS, SupportedModelFormats
    from modelscan.scanners import H5LambdaDetectScan, KerasLambdaDetectScan

    scanner, fmt = (H5LambdaDetectScan, SupportedModelFormats.KERAS_H5) if kind == "h5" else (
        KerasLambdaDetectScan, SupportedModelFormats.KERAS)
    with Model(path) as model:
        model.set_context("formats", [fmt])
        _record(scanner(DEFAULT_SETTINGS).scan(model), ctx, label)


def _record(results: Any, ctx: ScanContext, label: str) -> None:
    if results is None:
        return
    for issue in results.issues:
        details = issue.details
        what = f"{getattr(details, 'module', '')}.{getattr(details, 'operator', '')}"
        ctx.add(NAME, issue.severity.name.lower(), "modelscan.unsafe-operator", f"unsafe operator {what}", label)
    for error in results.errors:
        ctx.error(NAME, "engine-failed", str(error), label)
