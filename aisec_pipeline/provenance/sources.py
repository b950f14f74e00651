"""Provenance sources matched structurally against the policy's allowlist, never by string prefix
(`pypi://pkg@0.1.2` must not admit `pypi://pkg@0.1.20`).

A source is `scheme://location`. An allowlist entry is one of:
- `scheme://path/` (ends with "/"): any source whose path starts with those whole segments;
- `scheme://package@SPEC`: that package (PEP 503 name) at an exact version ("0.1.2") or in an
  explicit PEP 440 range (">=0.1,<0.2");
- anything else: exactly that source.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

_RANGE_OPERATORS = ("<", ">", "=", "!", "~")


def _split(uri: str) -> tuple[str, list[str]] | None:
    scheme, separator, location = uri.partition("://")
    if not separator or not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        return None
    segments = location.split("/")
    if any(part in (".", "..") for part in segments):
        return None
    return scheme, segments


def _package(segment: str) -> tuple[str, str] | None:
    name, at, spec = segment.partition("@")
    if not at or not name or not spec:
        return None
    return re.sub(r"[-_.]+", "-", name).lower(), spec


def _version_matches(version: str, spec: str) -> bool:
    try:
        if spec.startswith(_RANGE_OPERATORS):
            return Version(version) in SpecifierSet(spec)
        return Version(version) == Version(spec)
    except (InvalidVersion, InvalidSpecifier):
        return False


def source_matches(source: str, allowed: str) -> bool:
    got, want = _split(source), _split(allowed)
    if got is None or want is None or got[0] != want[0]:
        return False
    (_, segments), (_, pattern) = got, want
    if pattern[-1] == "":  # a subtree: whole leading segments must be equal
        prefix = pattern[:-1]
        return len(segments) > len(prefix) and segments[:len(prefix)] == prefix and segments[-1] != ""
    wanted_package, got_package = _package(pattern[-1]), _package(segments[-1])
    if wanted_package and got_package and pattern[:-1] == segments[:-1]:
        return wanted_package[0] == got_package[0] and _version_matches(got_package[1], wanted_package[1])
    return source == allowed


def source_allowed(source: str, allowlist: tuple[str, ...]) -> bool:
    return any(source_matches(source, allowed) for allowed in allowlist)
