"""Verdicts and decisions as Dagster UI metadata that explains itself.

What a reader sees first, without a click: the status and a short summary (the top reasons,
then how many more). Text is shown as a person reads it in Dagster's UI (`shown`): a sha256 as
its first 12 digits (a 64-digit word cannot wrap: it widens the whole metadata column past the
right edge of the page, cutting off every summary beside it; the full digest is in the JSON
record), and a segment value that starts with `<` or `>` quoted (`age_band='>45'`: the UI's
monospace font draws `=>` as an arrow), and a long word allowed to wrap (a zero-width space after
`/`, `.` or `_`). The CLI, JSON, SARIF and JUnit keep the text as it is. A table too wide to sit
beside the summary at 1280 px keeps a few columns in place and every column one click away
(`fitted_tables`). Then the numbers as numeric metadata, so Dagster plots their history (worst
gap and its interval, attack success rate and its interval, n, threshold). Every reason is in a
table of plain columns, figures are tables (segments flattened to `sex=Female x age_band=<25`,
never a Python dict), the bias chart inline in its check's description (Dagster collapses
Markdown metadata over 1,000 characters behind "[Show Markdown]"; a check's description is
Markdown rendered in place), and attachments by name: small Markdown is embedded,
anything else is named relative to the instance storage with its size and digest (a raw garak
report may quote a leaked secret: it is never embedded).
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import dagster as dg

TABLE_FIGURES = ("files", "probes", "segments", "violations", "artifacts", "rows")
SUMMARY_REASONS = 3  # reasons spelled out in a summary; the rest are counted
SUMMARY_REASON_CHARS = 300  # one very long reason is shortened in the summary (never in the table)
TABLE_ROWS = 200
EMBED_MAX_BYTES = 64 * 1024
EMBEDDED_SUFFIXES = (".md",)
STORAGE_FOLDER = "aisec"  # RunFolders keeps evidence files under <instance storage>/aisec/


# --- text as the UI shows it -------------------------------------------------------------------

SHA256 = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{52}\b")
OPERATOR_VALUE = re.compile(r"(?<=\w)=([<>][^\s,;|)\]]*)")
LONG_WORD = re.compile(r"\S{16,}")  # wider than a narrow column: may wrap after `/`, `.` or `_`
WRAP = "\u200b"  # a zero-width space: the browser may break the line there, nothing is drawn


def shown(text: str) -> str:
    """`text` for a UI cell or summary: sha256 digests shortened, operator-like values quoted,
    a long word allowed to wrap after each `/`, `.` or `_` (one unbreakable word widens the whole column)."""
    text = OPERATOR_VALUE.sub(r"='\1'", SHA256.sub(r"\1…", text))
    return LONG_WORD.sub(lambda word: re.sub(r"([/._])(?=\S)", rf"\1{WRAP}", word.group()), text)


# --- summaries and reasons --------------------------------------------------------------------

def summary(label: str, reasons: Iterable[str], top: int = SUMMARY_REASONS) -> str:
    """`FAILED: reason 1 | reason 2 | reason 3 | and 20 more (all in the reasons table)`."""
    reasons = list(reasons)
    if not reasons:
        return label
    top_reasons = [_shortened(r, SUMMARY_REASON_CHARS) for r in reasons[:top]]
    more = len(reasons) - len(top_reasons)
    tail = [f"and {more} more (all in the reasons table)"] if more > 0 else []
    return f"{label}: " + " | ".join(top_reasons + tail)


def check_description(verdict) -> str:
    """An evidence check's description (Markdown the UI renders in place, whatever its length):
    the summary, then the verdict's chart, if it has one."""
    text = summary(verdict.status.value.upper(), verdict.reasons)
    chart = (verdict.figures or {}).get("chart_png_base64")
    return f"{text}\n\n![{verdict.kind} chart](data:image/png;base64,{chart})" if chart else text


def _shortened(text: str, limit: int) -> str:
    text = shown(" ".join(text.split()))
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def reasons_table(reasons: Iterable[str]) -> dg.TableMetadataValue:
    """Every reason, one row each (a reason names its check: `bias_report: failed: ...`)."""
    rows = [{"#": number, "reason": reason} for number, reason in enumerate(reasons, 1)]
    return plain_table(rows or [{"#": 0, "reason": "none"}])


def decision_summary(decision) -> str:
    """What a reader sees first: the label, then each blocking check with its first reason
    (or, when approved, what passed and any conditions)."""
    from ..ci_reports import checks_for

    if decision.approved:
        passed = f"every required check passed ({', '.join(sorted(decision.evidence)) or 'none'})"
        return summary("APPROVED", [passed, *(f"condition: {c}" for c in decision.conditions)],
                       top=1 + len(decision.conditions))
    blocking = {check: reasons for check, reasons in checks_for(decision).items() if reasons}
    if not blocking:
        return "BLOCKED"
    parts = [_shortened(reasons[0], SUMMARY_REASON_CHARS) for reasons in blocking.values()]
    parts = [f"{check} ({len(reasons)} reasons): {part}" if len(reasons) > 1 else part
             for (check, reasons), part in zip(blocking.items(), parts)]
    return (f"BLOCKED by {', '.join(blocking)}: " + " | ".join(parts)
            + f" | all {len(decision.reasons)} reasons in the reasons table")


def decision_reasons(decision) -> dg.TableMetadataValue:
    """The decision's reasons: two columns, narrow enough to sit beside the summary at 1280 px
    (each reason starts with the check it comes from)."""
    return reasons_table(decision.reasons)


# --- tables of plain columns -------------------------------------------------------------------

def plain(value: Any) -> str | int | float | bool | None:
    """One table cell: scalars as they are (text `shown`), a segment mapping as
    `sex=Female x age_band='<25'`, lists joined with commas; never a Python repr."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, Mapping):
        return shown(" x ".join(f"{k}={_text(v)}" for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _text(value: Any) -> str:
    flat = plain(value)
    return "" if flat is None else str(flat)


def _column_type(values: list) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "bool"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "float"
    return "string"


def plain_table(rows: list[Mapping[str, Any]], limit: int = TABLE_ROWS) -> dg.TableMetadataValue:
    """A Dagster table whose cells are all plain values (see `plain`)."""
    shown = [{k: plain(v) for k, v in row.items()} for row in rows[:limit]]
    columns = list(dict.fromkeys(k for row in shown for k in row))
    types = {c: _column_type([row.get(c) for row in shown]) for c in columns}
    records = []
    for row in shown:
        cells = {}
        for column in columns:
            value = row.get(column)
            if types[column] == "string":
                value = "" if value is None else str(value)
            elif types[column] == "float" and value is not None:
                value = float(value)
            cells[column] = value
        records.append(dg.TableRecord(cells))
    schema = dg.TableSchema(columns=[dg.TableColumn(c, types[c]) for c in columns])
    return dg.MetadataValue.table(records, schema)


def markdown_table(rows: list[dict[str, Any]], limit: int = 200) -> str:
    columns = list(dict.fromkeys(k for row in rows[:limit] for k in row))
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)
    body = "\n".join("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows[:limit])
    more = f"\n\n({len(rows) - limit} more rows)" if len(rows) > limit else ""
    return f"{head}\n{body}{more}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return _text(value).replace("|", "\\|").replace("\n", " ")[:300]


TABLE_LABELS = {"examples": "worst examples", "discarded": "discounted hits", "table": "per segment"}
# A table beside the summary fits at 1280 px only if narrow (Dagster lays the metadata out as one
# label|value table: the widest value widens the value column of every row). A wide table shows
# these columns in place (about 260 px: two or three short columns) and every column behind
# "[Show Markdown]" (Markdown over 1,000 characters is folded; a shorter one would be drawn in
# place, as wide as the table: then a second table, each row's other columns as wrapping text).
NARROW_COLUMNS = {"table": ("segment", "status"), "violations": ("sentence",), "review": ("segment", "n"),
                  "artifact_scan.files": ("path", "verdict", "findings"),
                  "files": ("path", "verdict", "findings"), "provenance.artifacts": ("path", "actual_sha256"),
                  "rows": ("probe", "verdict", "failures")}
NARROW_CHARS = 32  # a table whose columns' longest words add up to more is too wide (~260 px)
MARKDOWN_FOLDED = 1000
INJECTION_TABLE_LABELS = {"rows": "probe x detector"}


def tables_in(figures: dict[str, Any], prefix: str = "") -> dict[str, list[dict]]:
    """Every list-of-records figure (a list or a tuple: dataclasses keep tuples), found one level
    deep (combined verdicts nest by kind)."""
    found = {}
    for key, value in figures.items():
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
            found[f"{prefix}{key}"] = list(value)
        elif isinstance(value, dict) and not prefix:
            found.update(tables_in(value, prefix=f"{key}."))
    return found


def fitted_tables(label: str, rows: list[dict], narrow: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`table: label`, narrow enough to sit beside the summary at 1280 px; a wide table keeps its
    `narrow` columns (else its first two) there, and every column is shown too: folded Markdown
    (`all columns: label`) or, when that would be short enough to render in place, a second
    table of the first column and the others as text that wraps (`table: label, every column`)."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if _chars(rows, columns) <= NARROW_CHARS:
        return {f"table: {label}": plain_table(rows)}
    keep = [c for c in narrow or columns[:2] if c in columns] or columns[:1]
    fitted = {f"table: {label}": plain_table([{c: row.get(c) for c in keep} for row in rows])}
    full = markdown_table(rows)
    if len(full) >= MARKDOWN_FOLDED:
        fitted[f"all columns: {label}"] = dg.MetadataValue.md(full)
    else:
        first = columns[0]
        fitted[f"table: {label}, every column"] = plain_table(
            [{first: row.get(first), "columns": _wrappable("; ".join(f"{c} {_text(row.get(c))}" for c in columns[1:]))}
             for row in rows])
    return fitted


def _wrappable(text: str) -> str:
    """Text for a narrow cell: any word over 9 characters may wrap after `_`, `/`, `.` or `=`."""
    return re.sub(r"\S{10,}", lambda word: re.sub(r"([/._=])(?=\S)", rf"\1{WRAP}", word.group()), text)


def _chars(rows: list[dict], columns: list[str]) -> int:
    """The columns' longest unbreakable words (header or cell, as shown), added up."""
    def longest(text: str) -> int:
        return max((len(word) for word in re.split(rf"[\s{WRAP}-]+", text)), default=0)
    return sum(max([longest(column)] + [longest(_text(row.get(column))) for row in rows[:TABLE_ROWS]])
               for column in columns)


# --- the numbers Dagster plots -----------------------------------------------------------------

def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if isinstance(value, float) and math.isnan(value) else value


def _bias_numbers(figures: dict) -> dict[str, Any]:
    found: dict[str, Any] = {"n": figures.get("rows"), "threshold": figures.get("threshold"),
                             "tests": figures.get("tests"), "violations": figures.get("violations_total"),
                             "tests too thin to run": figures.get("review_total"),
                             "excluded rows": figures.get("excluded_rows")}
    gap = figures.get("worst_gap")
    if isinstance(gap, dict):
        found.update({"worst gap": abs(gap.get("difference") or 0.0),
                      "worst gap ci low": gap.get("ci_low"), "worst gap ci high": gap.get("ci_high")})
        found["worst gap at"] = shown(f"{gap.get('metric')} for {gap.get('segment')} (difference and 95% interval)")
    else:
        violations = [v for v in figures.get("violations") or () if isinstance(v, dict)]
        gaps = [abs(v["value"] - v["reference"]) for v in violations
                if _number(v.get("value")) is not None and _number(v.get("reference")) is not None]
        if gaps:
            found["worst gap"] = max(gaps)
    return found


def _injection_numbers(figures: dict) -> dict[str, Any]:
    rows = [r for r in figures.get("rows") or () if isinstance(r, dict) and r.get("attempts")]
    found: dict[str, Any] = {"canary leaks": figures.get("canary_leaks"),
                             "errored answers": figures.get("error_attempts"),
                             "probe x detector pairs": len(rows),
                             "answers scored": sum(int(r.get("attempts") or 0) for r in rows)}
    if rows:
        worst = max(rows, key=lambda r: (r.get("attack_success_rate") or 0, r.get("ci_high") or 0))
        found.update({"attack success rate": worst.get("attack_success_rate"),
                      "attack success ci low": worst.get("ci_low"),
                      "attack success ci high": worst.get("ci_high"),
                      "n": worst.get("attempts"), "threshold": worst.get("threshold"),
                      "worst probe": shown(f"{worst.get('probe')} / {worst.get('detector')} "
                                           "(attack success rate and 95% interval)")})
    refusal = figures.get("over_refusal") if isinstance(figures.get("over_refusal"), dict) else {}
    if refusal.get("rate") is not None:  # the cost of safety, beside attack success
        found.update({"over-refusal rate": refusal.get("rate"),
                      "over-refusal ci low": refusal.get("ci_low"),
                      "over-refusal ci high": refusal.get("ci_high")})
    return found


def _scan_numbers(figures: dict) -> dict[str, Any]:
    scan = figures.get("artifact_scan") if isinstance(figures.get("artifact_scan"), dict) else figures
    files = [f for f in scan.get("files") or () if isinstance(f, dict)]
    counts = scan.get("counts") if isinstance(scan.get("counts"), dict) else {}
    provenance = figures.get("provenance") if isinstance(figures.get("provenance"), dict) else {}
    found: dict[str, Any] = {"files scanned": len(files), "unsafe files": counts.get("unsafe"),
                             "scan errors": counts.get("error"),
                             "findings": sum(int(f.get("findings") or 0) for f in files)}
    if provenance.get("signature"):
        found["signature"] = str(provenance["signature"])
    return found


def _card_numbers(figures: dict) -> dict[str, Any]:
    return {"problems": figures.get("problem_count", 0),
            "validated use cases": len(figures.get("validated_use_cases") or ())}


def _data_numbers(figures: dict) -> dict[str, Any]:
    return {"n": figures.get("rows"), "expectations": figures.get("expectations"),
            "failed expectations": figures.get("failed_expectations")}


NUMBERS: dict[str, Callable[[dict], dict[str, Any]]] = {
    "bias_report": _bias_numbers, "production_bias": _bias_numbers,
    "injection_report": _injection_numbers, "artifact_scan": _scan_numbers,
    "model_card": _card_numbers, "evaluation_data": _data_numbers,
}


def numbers(verdict) -> dict[str, Any]:
    """The verdict's headline numbers as int/float metadata (text labels say what they measure)."""
    found = NUMBERS.get(verdict.kind, lambda figures: {})(verdict.figures or {})
    metadata: dict[str, Any] = {}
    for name, value in found.items():
        if isinstance(value, str):
            metadata[name] = dg.MetadataValue.text(value)
        elif isinstance(value, int) and _number(value) is not None:
            metadata[name] = dg.MetadataValue.int(value)
        elif _number(value) is not None:
            metadata[name] = dg.MetadataValue.float(float(value))
    return metadata


# --- attachments -------------------------------------------------------------------------------

def attachment_metadata(attachments: Mapping[str, str]) -> dict[str, Any]:
    """Small Markdown embedded; anything else named relative to the instance storage."""
    metadata: dict[str, Any] = {}
    for name, location in attachments.items():
        try:
            metadata[f"attachment: {name}"] = _attachment(Path(location))
        except (OSError, ValueError, TypeError):  # not a path at all (an inline value)
            metadata[f"attachment: {name}"] = dg.MetadataValue.text(f"inline value, {len(str(location))} characters")
    return metadata


def _attachment(path: Path):
    name = shown(relative_name(path))  # a path may wrap after each `/` (see `shown`)
    if not path.is_file():
        return dg.MetadataValue.text(f"{name} (no longer on the server)")
    size = path.stat().st_size
    if path.suffix in EMBEDDED_SUFFIXES and size <= EMBED_MAX_BYTES:
        try:
            return dg.MetadataValue.md(f"*{name}*\n\n" + path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            pass
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if size <= 64 * 1024 * 1024 else "not hashed"
    return dg.MetadataValue.text(f"{name} ({_size(size)}, sha256 {digest[:16]}) in the instance storage")


def relative_name(path: Path) -> str:
    """The path from the instance's evidence folder (`aisec/<model>/<kind>/<run>/file`), else the name."""
    parts = path.parts
    if STORAGE_FOLDER in parts:
        start = len(parts) - 1 - parts[::-1].index(STORAGE_FOLDER)
        return "/".join(parts[start:])
    return path.name


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


# --- the figures -------------------------------------------------------------------------------

def evidence_presentation(verdict) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    labels = {**TABLE_LABELS, **(INJECTION_TABLE_LABELS if verdict.kind == "injection_report" else {})}
    for name, rows in tables_in(verdict.figures).items():
        metadata.update(fitted_tables(labels.get(name, name), rows, NARROW_COLUMNS.get(name)))
    if verdict.figures.get("chart_png_base64"):  # drawn in the check's description (see above)
        from ..evidence_kinds import BY_NAME

        check = BY_NAME[verdict.kind].check if verdict.kind in BY_NAME else "its check"
        metadata["chart"] = dg.MetadataValue.text(f"drawn in the {check} check's latest execution (Checks tab)")
    splits = verdict.figures.get("splits_markdown") or verdict.figures.get("measured_splits_markdown")
    if splits:
        metadata["demographic splits"] = dg.MetadataValue.md(splits)
    return metadata
