"""Bias per demographic segment: counts engine, intervals, significance, drift, alerts.

Public functions are loaded lazily (PEP 562) so that importing `fairness.command` for the CLI
does not pull in pandas, scipy or great-expectations.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_PUBLIC = {
    # evaluation data contract
    "load_evaluation_data": "validation", "validate_evaluation": "validation",
    "read_table": "tables", "TableError": "tables",
    # measurement
    "cell_counts": "counts", "count_file": "counts", "aggregate": "counts", "DataError": "counts",
    "measure_bias": "bias", "measure_frame": "bias", "measure_file": "bias", "rule_from_policy": "bias",
    "declared_segments": "bias", "card_split_keys": "bias",
    "BiasReport": "report", "Violation": "report",
    "wilson": "intervals", "newcombe": "intervals", "newcombe_p_value": "intervals",
    "holm": "significance", "benjamini_hochberg": "significance",
    # evidence
    "bias_verdict": "evidence", "production_verdict": "evidence", "performance_splits": "evidence",
    "segment_records": "evidence", "text_table": "evidence",
    "chart_png": "chart", "chart_base64": "chart", "chart_markdown": "chart",
    # production monitoring
    "read_production_log": "production_log", "LogSourceError": "production_log",
    "daily_counts": "drift", "update_history": "drift", "load_counts": "drift", "save_counts": "drift",
    "window": "drift", "measure_drift": "drift", "monitor_production": "drift",
    "MonitoringResult": "drift",
    "Alert": "alerts", "dispatch": "alerts", "alerts_from_report": "alerts", "sinks_from_env": "alerts",
    "WebhookSink": "alerts", "SlackSink": "alerts", "EmailSink": "alerts", "LogFileSink": "alerts",
    # demo data
    "load_compas": "demo_data", "synthetic_production_log": "demo_data", "COMPAS_SEGMENTS": "demo_data",
}

__all__, __getattr__ = lazy_exports(__name__, _PUBLIC)
