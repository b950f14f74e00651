"""Any number of segments: every view a person reads is bounded (worst first, then counts)
while the JSON keeps every segment. Speed is measured in benchmarks/bias.py, not here."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from aisec_pipeline.fairness.bias import measure_bias
from aisec_pipeline.fairness.chart import CHART_ROWS, chart_png
from aisec_pipeline.fairness.counts import cell_counts
from aisec_pipeline.fairness.evidence import FIGURE_ROWS, SPLITS_ROWS, TEXT_ROWS, bias_verdict, text_table
from aisec_pipeline.governance.policy import BiasPolicy

SEGMENTS = 3000


def many_segments() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = 60_000
    frame = pd.DataFrame({"shop": rng.integers(0, SEGMENTS, rows).astype(str),
                          "y": rng.integers(0, 2, rows), "p": rng.integers(0, 2, rows)})
    frame.loc[:399, "shop"] = "17"  # one large shop, always predicted positive
    frame.loc[frame["shop"] == "17", "p"] = 1
    return frame


def test_a_report_with_thousands_of_segments_summarises_and_keeps_everything_in_json():
    policy = BiasPolicy(max_difference=0.1)
    report = measure_bias(cell_counts(many_segments(), "y", "p", ["shop"]), ["shop"], policy)
    assert len(report.rows) == SEGMENTS
    table = text_table(report).splitlines()
    assert len(table) == TEXT_ROWS + 3  # header, overall, the worst segments, "... N more"
    assert table[2].startswith("shop=17 ") and table[2].rstrip().endswith("fail")  # failing first
    assert table[-1] == f"... {SEGMENTS - TEXT_ROWS} more segments (worst shown first; every segment is in --json)"
    assert len(report.to_json()["segments"]) == SEGMENTS
    verdict = bias_verdict(report, policy)
    assert len(verdict.figures["table"]) == FIGURE_ROWS and verdict.figures["segments"] == SEGMENTS
    assert len(verdict.reasons) < 50 and verdict.figures["review_total"] >= len(verdict.figures["review"])
    splits = verdict.attachments["performance_splits_md"]
    assert splits.count("\n| shop=") == SPLITS_ROWS and f"{SEGMENTS - SPLITS_ROWS} more segments not shown" in splits
    height = Image.open(io.BytesIO(chart_png(report))).size[1]
    assert height < 16 * (CHART_ROWS + 10)  # bounded: 3,000 segments would be 48,000 pixels
