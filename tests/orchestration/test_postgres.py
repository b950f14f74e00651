"""The gate against a real PostgreSQL-backed Dagster instance, configured by deploy/dagster.yaml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg2
import pytest

from aisec_pipeline.cli import main
from inventory_builder import add_model, new_inventory, safetensors_bytes
from postgres_server import postgres_bin, running_postgres

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL not installed: .ci/run installs it")]

DEPLOY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"


def test_gate_runs_on_postgres_storage(tmp_path, monkeypatch):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path))
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DEPLOY_CONFIG, home / "dagster.yaml")
    with running_postgres() as url:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; dagster-postgres ships psycopg2.
        monkeypatch.setenv("AISEC_DAGSTER_PG_URL", url.replace("postgresql://", "postgresql+psycopg2://"))
        out = tmp_path / "gate.json"
        assert main(["gate", "clean-model", "--inventory", str(root), "--json", str(out)]) == 0
        assert json.loads(out.read_text())["models"][0]["decision"] == "approved"
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from runs where status = 'SUCCESS'")
            assert cur.fetchone()[0] == 1
            cur.execute("select count(*) from event_logs where asset_key like %s",
                        ('%deployment_decision%',))
            assert cur.fetchone()[0] >= 1
        assert not list(home.glob("history/runs.db")), "runs went to SQLite, not PostgreSQL"


def test_concurrent_gates_on_postgres_agree(tmp_path):
    """Three gates of one model at once on the shared production storage: one answer, none lost."""
    import os
    import subprocess
    import sys

    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path))
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DEPLOY_CONFIG, home / "dagster.yaml")
    with running_postgres() as url:
        env = {**os.environ, "DAGSTER_HOME": str(home),
               "AISEC_DAGSTER_PG_URL": url.replace("postgresql://", "postgresql+psycopg2://")}
        procs = [subprocess.Popen([sys.executable, "-m", "aisec_pipeline.cli", "gate", "clean-model",
                                   "--inventory", str(root), "--json", str(tmp_path / f"g{i}.json")],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(3)]
        results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
        for index, (code, err) in enumerate(results):
            assert code == 0 and "Traceback" not in err, err[-3000:]
            decision = json.loads((tmp_path / f"g{index}.json").read_text())["models"][0]
            assert decision["decision"] == "approved", decision["reasons"]
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from runs where status = 'SUCCESS'")
            assert cur.fetchone()[0] == 3
