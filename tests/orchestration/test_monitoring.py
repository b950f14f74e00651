"""Production drift on the demo COMPAS model: the daily job finds the drifting segment and
alerts once, not on every run."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from aisec_pipeline.orchestration.component import inventory_definitions
from aisec_pipeline.orchestration.evidence import latest_verdict
from aisec_pipeline.orchestration.gate import Gate, dagster_instance
from aisec_pipeline.inventory import load_inventory

DEMO_INVENTORY = Path(__file__).resolve().parents[2] / "assets"

pytestmark = pytest.mark.slow


def test_drift_job_alerts_once_for_the_drifting_segment(dagster_home, tmp_path, monkeypatch):
    alert_log = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("AISEC_ALERT_LOG_FILE", str(alert_log))
    defs = inventory_definitions(DEMO_INVENTORY)
    instance = dagster_instance()
    compas = [m for m in load_inventory(DEMO_INVENTORY) if m.name == "compas-recidivism"]
    Gate(DEMO_INVENTORY, instance).run(compas)  # measures the baseline (bias_report)

    drift_job = defs.resolve_job_def("production_drift")
    drift_job.execute_in_process(instance=instance, raise_on_error=False)
    first = alert_log.read_text().splitlines()
    drift_job.execute_in_process(instance=instance, raise_on_error=False)
    assert alert_log.read_text().splitlines() == first, "the same drift alerted again"
    verdict = latest_verdict(instance, dg.AssetKey(["compas-recidivism", "production_bias"]))
    assert verdict is not None and verdict.status.value == "failed"
    assert any("sex=Male x age_band=25-45" in r and "FPR" in r for r in verdict.reasons), verdict.reasons
    alerts = [json.loads(line) for line in first]
    assert any(a["segment"] == "sex=Male x age_band=25-45" and a["metric"] == "fpr" for a in alerts), alerts
    keys = [(a["segment"], a["metric"]) for a in alerts]
    assert len(keys) == len(set(keys))
