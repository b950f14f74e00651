"""Supply-chain scanning of model artifacts by content, without loading them.

Three engines (the own opcode analyser and structural checks, picklescan strict, modelscan)
report findings per file; a file is safe only when nothing blocks and nothing errored.

Public names are loaded lazily (PEP 562): `aisec scan --help` and the `aisec` parser import
`scanning.command`, which must not pay for the scanner's imports.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_PUBLIC = {
    "Finding": "report", "FileReport": "report",
    "scan_file": "scanner", "scan_paths": "scanner", "scan_verdict": "scanner",
}

__all__, __getattr__ = lazy_exports(__name__, _PUBLIC)
