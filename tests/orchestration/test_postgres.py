"""The gate against a real PostgreSQL-backed Dagster instance, configured by deploy/dagster.yaml."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import psycopg2
import pytest

from aisec_pipeline.cli import main
from gate_runs import gate_in_parallel
from inventory_builder import add_model, new_inventory, safetensors_bytes
from postgres_server import postgres_bin, running_postgres

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL not installed: .ci/run installs it")]

DEPLOY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"


@pytest.fixture
def inventory(tmp_path):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path))
    return root


@pytest.fixture
def production(tmp_path):
    """(DAGSTER_HOME with deploy/dagster.yaml, the instance's PostgreSQL URL for psycopg2)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DEPLOY_CONFIG, home / "dagster.yaml")
    with running_postgres() as url:
        yield home, url


def dagster_url(url: str) -> str:
    # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; dagster-postgres ships psycopg2.
    return url.replace("postgresql://", "postgresql+psycopg2://")


def successful_runs(url: str) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from runs where status = 'SUCCESS'")
        return cur.fetchone()[0]


def test_gate_runs_on_postgres_storage(inventory, production, tmp_path, monkeypatch):
    home, url = production
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("AISEC_DAGSTER_PG_URL", dagster_url(url))
    out = tmp_path / "gate.json"
    assert main(["gate", "clean-model", "--inventory", str(inventory), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["models"][0]["decision"] == "approved"
    assert successful_runs(url) == 1
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from event_logs where asset_key like %s", ('%deployment_decision%',))
        assert cur.fetchone()[0] >= 1
    assert not list(home.glob("history/runs.db")), "runs went to SQLite, not PostgreSQL"


def test_concurrent_gates_on_postgres_agree(inventory, production, tmp_path):
    """Three gates of one model at once on the shared production storage: one answer, none lost."""
    home, url = production
    env = {**os.environ, "DAGSTER_HOME": str(home), "AISEC_DAGSTER_PG_URL": dagster_url(url)}
    for run in gate_in_parallel(inventory, tmp_path, env=env):
        assert run.code == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
        assert run.decision["decision"] == "approved", run.decision["reasons"]
    assert successful_runs(url) == 3
