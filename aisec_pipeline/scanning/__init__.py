"""Supply-chain scanning of model artifacts by content, without loading them.

Three engines (the own opcode analyser and structural checks, picklescan strict, modelscan)
report findings per file; a file is safe only when nothing blocks and nothing errored.
"""

from .report import FileReport, Finding
from .scanner import scan_file, scan_paths, scan_verdict

__all__ = ["Finding", "FileReport", "scan_file", "scan_paths", "scan_verdict"]
