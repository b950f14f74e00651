"""A small dot-and-whisker PNG of each tested metric per segment, drawn with Pillow.

matplotlib is not installed in this stack, and a chart this simple does not need it. The PNG
is returned as bytes or base64 so a shell can embed it in Markdown metadata.
"""

from __future__ import annotations

import base64
import io
import math

from PIL import Image, ImageDraw, ImageFont

from .engine import FAIL, INSUFFICIENT, METRIC_BY_NAME, METRICS
from .report import BiasReport

CHART_ROWS = 40  # segments drawn; a larger report shows its worst segments first
ROW, TOP, BOTTOM, PANEL, GAP, LABEL_MAX = 16, 30, 22, 170, 26, 200
MAX_WIDTH = 640  # fits the Checks tab's detail pane at 1280 px (a wider image widens the whole pane)
PANEL_MIN = 70
COLOURS = {FAIL: (200, 30, 30), INSUFFICIENT: (230, 140, 0)}
OK_COLOUR, GRID, REFERENCE, BAND = (40, 90, 170), (225, 225, 225), (90, 90, 90), (236, 242, 250)
LEGEND_ROW = 20
LEGEND_HEIGHT = 2 * LEGEND_ROW  # the legend on two rows, three entries each
LEGEND = (("dot", COLOURS[FAIL], "significant gap (fails)"), ("dot", COLOURS[INSUFFICIENT], "too few rows to test"),
          ("dot", OK_COLOUR, "within threshold"), ("line", REFERENCE, "reference"),
          ("band", BAND, "reference ± threshold"), ("text", None, "whiskers: 95% interval"))
LEGEND_SPACING = 34


def _font(size: int = 11):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow built without FreeType
        return ImageFont.load_default()


def chart_png(report: BiasReport, metrics: tuple[str, ...] | None = None) -> bytes:
    metrics = metrics or report.rule.metrics
    font = _font()
    positions = _shown(report)
    keys = list(report.rows["key"].to_numpy()[positions])
    label_width = min(LABEL_MAX, max([int(font.getlength(k)) for k in keys] + [60]) + 10)
    panel = max(PANEL_MIN, min(PANEL, (MAX_WIDTH - label_width) // max(1, len(metrics)) - GAP))
    width = max(label_width + len(metrics) * (panel + GAP), _legend_width(font) + 8)
    height = TOP + ROW * len(keys) + BOTTOM + LEGEND_HEIGHT
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, key in enumerate(keys):
        draw.text((4, TOP + i * ROW + 2), _fit(key, font, label_width - 8), fill="black", font=font)
    for j, metric in enumerate(metrics):
        left = label_width + j * (panel + GAP)
        _panel(draw, font, report, metric, positions, left, panel)
    _legend(draw, font, height - LEGEND_HEIGHT + 4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def chart_base64(report: BiasReport, metrics: tuple[str, ...] | None = None) -> str:
    return base64.b64encode(chart_png(report, metrics)).decode("ascii")


def chart_markdown(report: BiasReport, metrics: tuple[str, ...] | None = None) -> str:
    return f"![bias per segment](data:image/png;base64,{chart_base64(report, metrics)})"


def _shown(report: BiasReport) -> list[int]:
    if len(report.rows) <= CHART_ROWS:
        return list(range(len(report.rows)))
    return list(report.worst_first()[:CHART_ROWS])


def _panel(draw: ImageDraw.ImageDraw, font, report: BiasReport, metric: str, positions: list[int],
           left: int, panel: int = PANEL) -> None:
    def x(value: float) -> float:
        return left + value * panel

    bottom = TOP + ROW * len(positions)
    column = [m.name for m in METRICS].index(metric)
    value, low, high, status = (report.per_segment(c)[:, column] for c in ("value", "ci_low", "ci_high", "status"))
    reference = _shared_reference(report.cells[report.cells["metric"] == metric])
    if reference is not None:
        band = (max(0.0, reference - report.rule.threshold), min(1.0, reference + report.rule.threshold))
        draw.rectangle([x(band[0]), TOP, x(band[1]), bottom], fill=BAND)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0) if panel >= 140 else (0.0, 0.5, 1.0):
        draw.line([x(tick), TOP, x(tick), bottom], fill=GRID)
        draw.text((x(tick) - 8, bottom + 4), f"{tick:.2f}".rstrip("0").rstrip("."), fill="black", font=font)
    if reference is not None:
        draw.line([x(reference), TOP, x(reference), bottom], fill=REFERENCE, width=1)
    draw.text((left, 8), METRIC_BY_NAME[metric].label, fill="black", font=font)
    for i, position in enumerate(positions):
        if math.isnan(value[position]):
            continue
        y = TOP + i * ROW + ROW // 2
        colour = COLOURS.get(status[position], OK_COLOUR)
        draw.line([x(low[position]), y, x(high[position]), y], fill=colour, width=2)
        draw.ellipse([x(value[position]) - 3, y - 3, x(value[position]) + 3, y + 3], fill=colour)


LEGEND_ROWS = (LEGEND[:3], LEGEND[3:])


def _legend_width(font) -> int:
    return max(sum(LEGEND_SPACING + int(font.getlength(text)) for _, _, text in row) for row in LEGEND_ROWS)


def _legend(draw: ImageDraw.ImageDraw, font, top: int) -> None:
    """What the colours, the line and the band mean, on two rows under the panels."""
    for number, row in enumerate(LEGEND_ROWS):
        _legend_row(draw, font, top + number * LEGEND_ROW, row)


def _legend_row(draw: ImageDraw.ImageDraw, font, top: int, entries) -> None:
    x, middle = 4, top + 6
    for shape, colour, text in entries:
        if shape == "dot":
            draw.line([x, middle, x + 12, middle], fill=colour, width=2)
            draw.ellipse([x + 3, middle - 3, x + 9, middle + 3], fill=colour)
        elif shape == "line":
            draw.line([x + 6, middle - 6, x + 6, middle + 6], fill=colour, width=1)
        elif shape == "band":
            draw.rectangle([x, middle - 6, x + 12, middle + 6], fill=colour, outline=GRID)
        draw.text((x + 16, middle - 6), text, fill="black", font=font)
        x += LEGEND_SPACING + int(font.getlength(text))


def _shared_reference(cells) -> float | None:
    """The reference line, when every segment shares one (overall or baseline totals)."""
    references = cells["reference"].dropna().unique()
    return float(references[0]) if len(references) == 1 else None


def _fit(text: str, font, width: int) -> str:
    while text and font.getlength(text) > width:
        text = text[:-2] + "…"
    return text
