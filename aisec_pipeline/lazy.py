"""Lazy package exports (PEP 562), so that the `aisec` parser, which imports every subcommand,
starts without paying for pandas, scipy, pydantic or the scanners."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(package: str, public: Mapping[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """`__all__` and a module `__getattr__` that imports `name` from `package.<public[name]>`."""

    def __getattr__(name: str) -> Any:
        module = public.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{module}", package), name)

    return sorted(public), __getattr__
