"""modelscan 0.8.8 in-process. Its own routing is by file extension, so the scanners are called
directly on content the sniffer recognised."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from ..context import ScanContext

NAME = "modelscan"
SCANNERS_PACKAGE = "modelscan.scanners"


def _scanner_modules_without_package_init() -> None:
    """`modelscan.scanners/__init__` imports every scanner (h5py and all): register the package
    without running it, so each scanner module imports only what it needs (pickle scans then
    skip h5py, a tenth of a second per process). Scanner modules are imported by their paths."""
    if SCANNERS_PACKAGE in sys.modules:
        return
    import importlib.util
    import os
    import types

    spec = importlib.util.find_spec("modelscan")
    assert spec is not None and spec.origin is not None
    package = types.ModuleType(SCANNERS_PACKAGE)
    package.__path__ = [os.path.join(os.path.dirname(spec.origin), "scanners")]
    sys.modules[SCANNERS_PACKAGE] = package


@contextmanager
def _numpy_loaded_on_first_use() -> Iterator[None]:
    """modelscan's pickle module imports numpy at its top but uses it only to read .npy files.
    While that module is imported (and only if nothing imported numpy yet), `numpy` resolves to a
    stand-in whose attributes load the real numpy on first use: a pickle scan then costs no numpy
    import (about 0.2 s per process, most of a small scan)."""
    if "numpy" in sys.modules:
        yield
        return
    import importlib
    import types

    stand_in = types.ModuleType("numpy", "loads the real numpy on first attribute access")

    def first_use(name: str) -> Any:
        if sys.modules.get("numpy") is stand_in:
            del sys.modules["numpy"]
        return getattr(importlib.import_module("numpy"), name)

    stand_in.__getattr__ = first_use  # type: ignore[method-assign]
    sys.modules["numpy"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("numpy") is stand_in:
            del sys.modules["numpy"]


def scan_pickle(stream: BinaryIO, ctx: ScanContext, label: str) -> None:
    _scanner_modules_without_package_init()
    with _numpy_loaded_on_first_use():
        from modelscan.scanners.pickle.scan import PickleUnsafeOpScan
    from modelscan.model import Model
    from modelscan.settings import DEFAULT_SETTINGS, SupportedModelFormats

    model = Model(label or "pickle", stream)
    model.set_context("formats", [SupportedModelFormats.PICKLE])
    _record(PickleUnsafeOpScan(DEFAULT_SETTINGS).scan(model), ctx, label)


def scan_keras(path: str, kind: str, ctx: ScanContext, label: str) -> None:
    """kind: "h5" or "keras"; modelscan needs the real file for both."""
    _scanner_modules_without_package_init()
    from modelscan.model import Model
    from modelscan.scanners.h5.scan import H5LambdaDetectScan
    from modelscan.scanners.keras.scan import KerasLambdaDetectScan
    from modelscan.settings import DEFAULT_SETTINGS, SupportedModelFormats

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
