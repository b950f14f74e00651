"""Evidence figures shown as Dagster UI metadata: tables and charts, never raw dumps."""

from __future__ import annotations

from typing import Any

import dagster as dg

TABLE_FIGURES = ("files", "probes", "segments", "violations", "artifacts", "rows")


def markdown_table(rows: list[dict[str, Any]], limit: int = 200) -> str:
    columns = list(dict.fromkeys(k for row in rows[:limit] for k in row))
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)
    body = "\n".join("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows[:limit])
    more = f"\n\n({len(rows) - limit} more rows)" if len(rows) > limit else ""
    return f"{head}\n{body}{more}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value if value is not None else "")
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def tables_in(figures: dict[str, Any], prefix: str = "") -> dict[str, list[dict]]:
    """Every list-of-records figure, found one level deep (combined verdicts nest by kind)."""
    found = {}
    for key, value in figures.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            found[f"{prefix}{key}"] = value
        elif isinstance(value, dict) and not prefix:
            found.update(tables_in(value, prefix=f"{key}."))
    return found


def evidence_presentation(verdict) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for name, rows in tables_in(verdict.figures).items():
        metadata[f"table: {name}"] = dg.MetadataValue.md(markdown_table(rows))
    chart = verdict.figures.get("chart_png_base64")
    if chart:
        metadata["chart"] = dg.MetadataValue.md(f"![chart](data:image/png;base64,{chart})")
    splits = verdict.figures.get("splits_markdown") or verdict.figures.get("measured_splits_markdown")
    if splits:
        metadata["demographic splits"] = dg.MetadataValue.md(splits)
    return metadata
