"""Public entry points: scan files and folders, and turn reports into one `Verdict`."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..kind_names import ARTIFACT_SCAN
from ..verdict import Status, Verdict
from .context import ScanContext, Source
from .formats import scan_source
from .one_read import PATH_READERS, ChangedWhileScanned, ReadLedger
from .report import BLOCKING_SEVERITIES, FileReport, verdict_of
from .sniff import SNIFF_BYTES, sniff

HASH_BUFFER = 8 << 20
VERDICT_KIND = ARTIFACT_SCAN
Progress = Callable[[int, int, Path], None]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as stream:
        while count := stream.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def scan_file(path: Path, trusted_types: Iterable[str] = ()) -> FileReport:
    """Scan one regular file by content. Never raises: failures become error findings."""
    path = Path(path)
    ctx = ScanContext(trusted_types=frozenset(trusted_types))
    if path.is_symlink() or not path.is_file():
        reason = "is a symlink (not followed)" if path.is_symlink() else "is missing or not a regular file"
        ctx.error("aisec", "not-scanned", reason)
        return _report(path, "", "unknown", ctx)
    try:
        ledger = ReadLedger(str(path))
    except OSError as exc:
        ctx.error("aisec", "unreadable-file", str(exc))
        return _report(path, "", "unknown", ctx)
    with ledger:
        kind = "unknown"
        with ctx.guard("aisec", ""), _source(ledger) as source:
            kind = scan_source(source, ctx)
        return _report(path, _digest_of_analysed(ledger, ctx), kind, ctx)


@contextlib.contextmanager
def _source(ledger: ReadLedger) -> Iterator[Source]:
    """The file as the formats see it: every read through the ledger (formats that open a path
    themselves get a private copy written through it)."""
    if sniff(ledger.read_at(0, SNIFF_BYTES)) in PATH_READERS:
        with ledger.private_copy() as copy:
            yield Source("", lambda: open(copy, "rb"), ledger.size, copy)
    else:
        yield Source("", ledger.open, ledger.size, ledger.path)


def _digest_of_analysed(ledger: ReadLedger, ctx: ScanContext) -> str:
    """The sha256 of exactly the bytes the formats analysed, or "" when the file changed."""
    if ledger.changed is None:
        try:
            return ledger.finish()
        except ChangedWhileScanned:
            pass
        except OSError as exc:
            ctx.error("aisec", "unreadable-file", str(exc))
            return ""
    ctx.error("aisec", "changed-while-scanned", f"the file changed while it was being scanned: {ledger.changed}")
    return ""


def _report(path: Path, sha256: str, kind: str, ctx: ScanContext) -> FileReport:
    return FileReport(
        path=str(path),
        sha256=sha256,
        format=kind,
        verdict=verdict_of(ctx.findings),
        findings=list(ctx.findings),
        trusted_types_used=sorted(ctx.trusted_types_used),
    )


# A clone's version-control folder: no model loader reads it (its hooks never run on a clone).
SKIPPED_FOLDERS = frozenset({".git"})


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under `paths`, folders recursively; symlinks are yielded (and reported), never followed.
    `.git` folders inside a scanned folder are skipped (a cloned Hugging Face repository)."""
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(name for name in dirs if name not in SKIPPED_FOLDERS)
                yield from (Path(root) / name for name in sorted(files))
                yield from (Path(root) / name for name in dirs if (Path(root) / name).is_symlink())
        else:
            yield path


def scan_paths(
    paths: Iterable[Path], trusted_types: Iterable[str] = (), on_progress: Progress | None = None
) -> list[FileReport]:
    files = list(iter_files(paths))
    trusted = frozenset(trusted_types)
    reports = []
    for index, path in enumerate(files):
        if on_progress is not None:
            on_progress(index, len(files), path)
        reports.append(scan_file(path, trusted))
    return reports


def short_names(paths: list[Path]) -> list[str]:
    """Each path relative to the folder the paths have in common (a lone file: its name)."""
    absolute = [os.path.abspath(path) for path in paths]
    if not absolute:
        return []
    parent = os.path.commonpath(absolute)
    if parent in absolute:  # one file (or the same file listed twice): its own folder
        parent = os.path.dirname(parent)
    return [os.path.relpath(path, parent) for path in absolute]


def scan_verdict(reports: list[FileReport]) -> Verdict:
    """PASSED only when at least one file was scanned and every file is safe."""
    names = short_names([Path(r.path) for r in reports])
    reasons = tuple(
        f"{name}: {finding.rule}: {finding.detail}"
        for name, report in zip(names, reports)
        if report.verdict != "safe"
        for finding in report.findings
        if finding.is_error or finding.severity in BLOCKING_SEVERITIES
    )
    figures = {
        "files": [
            {"path": r.path, "sha256": r.sha256, "format": r.format, "verdict": r.verdict, "findings": len(r.findings)}
            for r in reports
        ],
        "trusted_types_used": sorted({t for r in reports for t in r.trusted_types_used}),
        "counts": {v: sum(r.verdict == v for r in reports) for v in ("safe", "unsafe", "error")},
    }
    if not reports:
        return Verdict.unassessed(VERDICT_KIND, "no files were scanned", **figures)
    if any(r.verdict == "unsafe" for r in reports):
        return Verdict(VERDICT_KIND, Status.FAILED, reasons, figures)
    if any(r.verdict == "error" for r in reports):
        return Verdict(VERDICT_KIND, Status.UNASSESSED, reasons, figures)
    return Verdict(VERDICT_KIND, Status.PASSED, (), figures)
