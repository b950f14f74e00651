"""Shared fixtures: a real, complete card and real registry entries, written to disk."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from aisec_pipeline.inventory.schema import RegistryEntry

SHA = "ab" * 32  # an artifact sha256

VALID_HEADER: dict[str, Any] = {
    "license": "apache-2.0",
    "language": ["en"],
    "library_name": "scikit-learn",
    "tags": ["tabular-classification", "fairness"],
    "datasets": ["propublica/compas"],
    "pipeline_tag": "tabular-classification",
    "model-index": [{"name": "compas-recidivism", "results": [
        {"task": {"type": "tabular-classification"},
         "metrics": [{"type": "accuracy", "value": 0.66}]}]}],
    "model_name": "compas-recidivism",
    "model_version": "1.0.0",
    "summary": "Scores the risk that a defendant is re-arrested within two years.",
    "owner": {"name": "Amara Okafor", "email": "amara.okafor@example.org"},
    "training_data": "Broward County COMPAS records 2013-2014, 6,172 rows (ProPublica filter).",
    "evaluation_data": "A held-out 30% of the same records, stratified by outcome.",
    "failure_modes": ["False positive rate differs by age and sex (women under 25 worst)."],
    "demographic_splits": "measured",
    "validated_use_cases": [
        {"id": "pretrial-risk-research", "description": "Research into pretrial risk tools."},
        {"id": "fairness-teaching", "description": "Teaching material on algorithmic fairness."},
    ],
    "out_of_scope_uses": ["Any decision about a real defendant."],
    "incident_response": {
        "runbook": "docs/runbooks/compas.md",
        "on_call": "Amara Okafor, +44 20 7946 0000",
        "rollback": "Withdraw the deployment; the previous version stays registered.",
    },
}

BODY = """
# compas-recidivism

## Model details
A logistic regression over COMPAS features.

## Demographic performance splits
The pipeline writes the measured splits here.

## Limitations
Do not use for decisions about people.
"""


def entry_data(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "compas-recidivism", "version": "1.0.0", "kind": "classifier",
        "description": "COMPAS recidivism classifier for research.",
        "artifacts": [{"path": "artifacts/model.skops", "sha256": SHA}],
        "provenance": {"source": "internal://aisec/compas"},
        "risk": {"harm": "high", "reversibility": "low",
                 "eu_ai_act": {"category": "high-risk", "annex_iii_area": "law enforcement"}},
        "evaluation": {"data": "data/eval.csv", "label": "two_year_recid", "prediction": "pred",
                       "segments": {"sex": ["Male", "Female"]}},
    }
    return data | changes


@pytest.fixture
def header() -> dict[str, Any]:
    return copy.deepcopy(VALID_HEADER)


@pytest.fixture
def entry() -> RegistryEntry:
    return RegistryEntry.model_validate(entry_data())


@pytest.fixture
def llm_entry() -> RegistryEntry:
    return RegistryEntry.model_validate(entry_data(
        kind="llm", evaluation=None,
        endpoint={"type": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "smollm2",
                  "system_prompt_file": "system_prompt.txt"}))


@pytest.fixture
def write_card(tmp_path: Path) -> Callable[..., Path]:
    def write(header: dict[str, Any] | None, body: str = BODY, name: str = "card.md") -> Path:
        path = tmp_path / name
        front = yaml.safe_dump(header, sort_keys=False) if header is not None else ""
        path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
        return path
    return write


@pytest.fixture
def entry_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(entry_data(), sort_keys=False), encoding="utf-8")
    return path
