"""`aisec gate --remote URL`: the gate runs on a Dagster deployment and the CI runner only asks.

Two kinds of deployment: a scripted GraphQL server on 127.0.0.1 that answers what a deployment
could answer (every way it can go wrong must block), and a real one (dagster-webserver and
dagster-daemon on PostgreSQL, started here) that must give the same table, JSON, SARIF, JUnit and
exit codes as the local gate.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from aisec_pipeline.cli import decision_table, main
from aisec_pipeline.governance.decision import Decision
from aisec_pipeline.inventory import load_inventory
from aisec_pipeline.evidence_kinds import gating_kinds_for
from aisec_pipeline.orchestration.model_assets import asset_key
from inventory_builder import add_model, new_inventory, safetensors_bytes
from signing import demo_key, signer_of, stranger_key
from postgres_server import free_port, postgres_bin, running_postgres
from webserver import running_webserver

REPO = Path(__file__).resolve().parents[2]
PASSWORD, TOKEN = "pw-9f3K2-never-shown", "tok-7QxZ1-never-shown"
DECISION = asset_key("clean-model", "deployment_decision")


# --- a scripted deployment ---------------------------------------------------------------------

class Script:
    """What the scripted deployment answers; `requests` holds what it was asked."""

    def __init__(self, decision: dict | None, status: str = "SUCCESS", launch_error: str | None = None):
        self.decision, self.status, self.launch_error = decision, status, launch_error
        self.requests: list[dict] = []

    def answer(self, body: dict) -> dict:
        query = body["query"]
        if "GraphQLClientGetJobNames" in query:
            return {"repositoriesOrError": {"__typename": "RepositoryConnection", "nodes": [
                {"name": "__repository__", "location": {"name": "aisec"},
                 "pipelines": [{"name": "gate_models"}]}]}}
        if "GraphQLClientSubmitRun" in query:
            if self.launch_error:
                return {"launchPipelineExecution": {"__typename": "PythonError", "message": self.launch_error}}
            return {"launchPipelineExecution": {"__typename": "LaunchRunSuccess",
                                                "run": {"runId": "0f0e0d0c-1111-2222-3333-444455556666"}}}
        if "AisecEvidence" in query:
            return {"assetOrError": {"__typename": "AssetNotFoundError", "message": "never materialized"}}
        if "AisecRun" in query:
            events = [{"__typename": "LogMessageEvent", "message": "clean-model artifact_scan: passed",
                       "level": "INFO", "stepKey": "clean_model__artifact_scan"}]
            if self.decision is not None:
                events.append({"__typename": "MaterializationEvent",
                               "assetKey": {"path": DECISION.path},
                               "metadataEntries": [{"label": "decision",
                                                    "jsonString": json.dumps(self.decision)}]})
            return {"runOrError": {"__typename": "Run", "status": self.status},
                    "logsForRun": {"__typename": "EventConnection", "cursor": "1", "hasMore": False,
                                   "events": events if body["variables"].get("cursor") is None else []}}
        raise AssertionError(f"unexpected query: {query[:80]}")


@pytest.fixture
def scripted(tmp_path):
    """(start(script) -> URL) for a GraphQL server on 127.0.0.1 answering from `script`."""
    servers = []

    def start(script: Script) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                script.requests.append({**body, "authorization": self.headers.get("Authorization")})
                data = json.dumps({"data": script.answer(body)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def checkout(tmp_path):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path))
    return root


RUN_ID = "0f0e0d0c-1111-2222-3333-444455556666"  # the run the scripted deployment launches


def decision_for(root: Path, approved: bool = True, key=None, run_id: str = RUN_ID, **changes) -> dict:
    """The decision a deployment records, signed by its gate key (default: the demo gate's;
    key=False: unsigned)."""
    import dataclasses

    from aisec_pipeline.governance.attestation import PAYLOAD_TYPE, statement
    model = load_inventory(root)[0]
    decision = Decision(model.name, model.entry.version, "low", approved,
                        () if approved else ("model_card: failed: no model card",),
                        {"artifact_scan": "passed", "model_card": "passed"}, "2026-12-01T00:00:00+00:00",
                        digest=model.entry.digest)
    decision = dataclasses.replace(decision, **changes)
    if key is not False:
        content = statement(decision, run_id)
        sign = signer_of(key or demo_key("aisec demo gate"), PAYLOAD_TYPE)
        decision = dataclasses.replace(decision, attestation={"statement": content, "signatures": [sign(content)]})
    return decision.to_dict()


def gate(root: Path, url: str, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "gate.json"
    code = main(["gate", "clean-model", "--inventory", str(root), "--remote", url, "--json", str(out), *extra])
    return code, json.loads(out.read_text())["models"][0] if out.exists() else {}


def test_approved_only_when_the_runs_own_decision_says_so(scripted, checkout, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AISEC_REMOTE_TOKEN", TOKEN)
    script = Script(decision_for(checkout))
    code, decision = gate(checkout, scripted(script), tmp_path, "--use-case", "invoice-totals")
    assert code == 1, "the scripted decision was made without a use case: it cannot stand for one"
    assert "use case None" in " ".join(decision["reasons"])

    script = Script(decision_for(checkout, use_case="invoice-totals"))
    code, decision = gate(checkout, scripted(script), tmp_path, "--use-case", "invoice-totals")
    assert (code, decision["decision"]) == (0, "approved"), decision["reasons"]
    launch = next(r for r in script.requests if "GraphQLClientSubmitRun" in r["query"])
    params = launch["variables"]["executionParams"]
    assert params["selector"]["pipelineName"] == "gate_models"
    measured = sorted(kind.name for kind in gating_kinds_for(load_inventory(checkout)[0]))  # none recorded yet
    assert "model_card" in measured
    assert [k["path"] for k in params["selector"]["assetSelection"]] == [
        asset_key("clean-model", kind).path for kind in (*measured, "deployment_decision")]
    assert params["runConfigData"] == {"ops": {DECISION.to_python_identifier(): {
        "config": {"use_case": "invoice-totals"}}}}
    assert {"key": "aisec/trigger", "value": "ci-remote"} in params["executionMetadata"]["tags"]
    assert {r["authorization"] for r in script.requests} == {f"Bearer {TOKEN}"}
    err = capsys.readouterr().err
    assert "clean-model artifact_scan: passed" in err and "run 0f0e0d0c: success" in err
    assert TOKEN not in err


@pytest.mark.parametrize("script, expected", [
    (lambda d: Script(d, status="FAILURE"), "ended FAILURE, so its approval does not stand"),
    (lambda d: Script(None), "ended SUCCESS without a decision"),
    (lambda d: Script({**d, "version": "0.9.0"}), "decided on clean-model 0.9.0, this checkout registers clean-model 1.0.0"),
    (lambda d: Script({**d, "artifact_digest": "f" * 64}), "decided on artifact digest ffffffffffff"),
    (lambda d: Script({**d, "decision": "maybe", "reasons": None}), "recorded a decision that cannot be read"),
    (lambda d: Script({**d, "reasons": [7, None]}), "recorded a decision that cannot be read"),
    (lambda d: Script(d, launch_error="code location failed to load"), "PythonError: code location failed to load"),
])
def test_anything_but_a_matching_approval_blocks(scripted, checkout, tmp_path, script, expected):
    code, decision = gate(checkout, scripted(script(decision_for(checkout))), tmp_path)
    assert (code, decision["decision"]) == (1, "blocked")
    assert any(expected in reason for reason in decision["reasons"]), decision["reasons"]


@pytest.mark.parametrize("sign, expected", [
    ({"key": False}, "it carries no gate signature"),
    ({"key": "stranger"}, "not signed by a gate key in the policy's keyring"),
    ({"run_id": "another-run"}, "names run 'another-run', not the run"),
])
def test_a_look_alike_server_answering_approved_is_blocked(scripted, checkout, tmp_path, sign, expected):
    if sign.get("key") == "stranger":
        sign = {"key": stranger_key(tmp_path)}
    code, decision = gate(checkout, scripted(Script(decision_for(checkout, **sign))), tmp_path)
    assert (code, decision["decision"]) == (1, "blocked")
    assert any("approval proves nothing" in r and expected in r for r in decision["reasons"]), decision["reasons"]


def test_an_unreachable_deployment_is_not_judged_exit_2_one_line(checkout, tmp_path, capsys):
    """Could not judge is not a block: CI tells "fix the connection" (2) from "fix the model" (1)."""
    url = f"http://ci-bot:{PASSWORD}@127.0.0.1:{free_port()}"
    sarif = tmp_path / "gate.sarif"
    code, decision = gate(checkout, url, tmp_path, "--sarif", str(sarif))
    assert (code, decision) == (2, {}), "nothing was decided: no decision may be written"
    assert not sarif.exists()
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[-1].startswith("aisec: could not judge: the deployment at http://127.0.0.1:")
    assert "cannot be reached" in lines[-1] and "Traceback" not in captured.err
    assert PASSWORD not in captured.out + captured.err and "ci-bot" not in captured.out + captured.err


@pytest.mark.parametrize("status, body", [
    (200, b"<html><body>Welcome to nginx</body></html>"),
    (502, b"Bad Gateway"),
    (200, b'{"data": {"assetOrError": {"unexpected": 1}}}'),
])
def test_a_deployment_answering_nonsense_is_not_judged_exit_2(checkout, tmp_path, capsys, status, body):
    class Nonsense(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Nonsense)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, decision = gate(checkout, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    finally:
        server.shutdown()
    assert (code, decision) == (2, {})
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("aisec: could not judge: ") and "did not answer as a Dagster deployment" in last


def test_a_run_that_does_not_finish_in_time_blocks(scripted, checkout, tmp_path, monkeypatch):
    monkeypatch.setenv("AISEC_REMOTE_TIMEOUT_SECONDS", "1")
    code, decision = gate(checkout, scripted(Script(None, status="STARTED")), tmp_path)
    assert (code, decision["decision"]) == (1, "blocked")
    assert "did not finish within 1 s" in decision["reasons"][0]


@pytest.mark.parametrize("url", ["ftp://dagster.internal", "dagster.internal:3000", "http://:3000"])
def test_a_url_that_is_not_a_webserver_is_a_usage_error(checkout, url, capsys):
    assert main(["gate", "clean-model", "--inventory", str(checkout), "--remote", url]) == 2
    assert "--remote needs an http(s) URL" in capsys.readouterr().err


# --- a real deployment: webserver + daemon on PostgreSQL -----------------------------------------

@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """(URL, inventory) of a running deployment: production instance config on PostgreSQL."""
    if postgres_bin() is None:
        pytest.skip("PostgreSQL not installed: scripts/system_deps.sh installs it")
    base = tmp_path_factory.mktemp("deployment")
    root = new_inventory(base / "assets")
    weights = safetensors_bytes(base)
    add_model(root, "clean-model", weights)
    add_model(root, "no-card", weights, card=False)
    home = base / "home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with running_postgres() as pg_url:
        env = {**os.environ, "DAGSTER_HOME": str(home), "AISEC_INVENTORY": str(root),
               "AISEC_GATE_KEY": str(demo_key("aisec demo gate")),
               "AISEC_DAGSTER_PG_URL": pg_url.replace("postgresql://", "postgresql+psycopg2://")}
        with open(base / "deployment.log", "w") as log, running_webserver(env, daemon=True, log=log) as url:
            yield url, root


@pytest.mark.slow
def test_remote_gate_gives_the_local_gates_outputs_and_exit_code(deployment, tmp_path, monkeypatch, capsys):
    url, root = deployment
    outputs = {}
    for mode, extra in (("remote", ["--remote", url]), ("local", [])):
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / f"{mode}-home"))  # the local gate's own instance
        (tmp_path / f"{mode}-home").mkdir()
        files = [tmp_path / f"{mode}.{ext}" for ext in ("json", "sarif", "xml")]
        code = main(["gate", "--all", "--inventory", str(root), *extra, "--json", str(files[0]),
                     "--sarif", str(files[1]), "--junit", str(files[2])])
        outputs[mode] = (code, capsys.readouterr(), *(f.read_text() for f in files))

    code, captured, as_json, sarif, junit = outputs["remote"]
    assert code == 1
    models = {m["name"]: m for m in json.loads(as_json)["models"]}
    assert models["clean-model"]["decision"] == "approved", models["clean-model"]["reasons"]
    assert models["no-card"]["decision"] == "blocked"
    assert any(r.startswith("model_card:") for r in models["no-card"]["reasons"])
    assert "launched run" in captured.err and "no-card 1.0.0: BLOCKED" in captured.err
    assert captured.out.strip() == decision_table(
        [Decision.from_dict(m) for m in json.loads(as_json)["models"]]).strip()

    local_code, local_captured, local_json, local_sarif, local_junit = outputs["local"]
    assert code == local_code
    assert captured.out == local_captured.out
    same = lambda text: [{k: v for k, v in m.items() if k not in ("decided_at", "attestation")}  # noqa: E731
                         for m in json.loads(text)["models"]]
    assert same(as_json) == same(local_json)
    assert sarif == local_sarif and junit == local_junit


@pytest.mark.slow
def test_remote_runs_are_the_deployments_and_reuse_its_evidence(deployment, capsys):
    url, root = deployment
    assert main(["gate", "clean-model", "--inventory", str(root), "--remote", url]) == 0
    assert main(["gate", "clean-model", "--inventory", str(root), "--remote", url]) == 0
    err = capsys.readouterr().err
    assert "reusing artifact_scan, model_card: the deployment holds them" in err
    query = ('{ runsOrError(filter: {tags: [{key: "aisec/trigger", value: "ci-remote"}]}) '
             '{ ... on Runs { results { status jobName tags { key value } } } } }')
    runs = requests.post(f"{url}/graphql", json={"query": query}, timeout=30).json()["data"]["runsOrError"]["results"]
    assert len(runs) >= 2 and {r["jobName"] for r in runs} == {"gate_models"}
    assert {"key": "aisec/model", "value": "clean-model"} in runs[0]["tags"]


@pytest.mark.slow
def test_a_checkout_the_deployment_does_not_run_is_never_approved(deployment, tmp_path, capsys):
    url, root = deployment
    checkout = tmp_path / "assets"
    shutil.copytree(root, checkout)
    entry_file = checkout / "models" / "clean-model" / "model.yaml"
    entry = yaml.safe_load(entry_file.read_text())
    entry_file.write_text(yaml.safe_dump({**entry, "version": "1.0.1"}, sort_keys=False))
    out = tmp_path / "gate.json"
    assert main(["gate", "clean-model", "--inventory", str(checkout), "--remote", url, "--json", str(out)]) == 1
    reasons = json.loads(out.read_text())["models"][0]["reasons"]
    assert any("decided on clean-model 1.0.0, this checkout registers clean-model 1.0.1" in r
               for r in reasons), reasons


def test_force_reaches_the_deployment_as_a_run_tag(scripted, checkout, tmp_path):
    """Evidence assets reuse what they can on any path: --force must tell the deployment's run."""
    script = Script(decision_for(checkout))
    assert gate(checkout, scripted(script), tmp_path, "--force")[0] == 0
    launch = next(r for r in script.requests if "GraphQLClientSubmitRun" in r["query"])
    assert {"key": "aisec/force", "value": "true"} in launch["variables"]["executionParams"]["executionMetadata"]["tags"]
    script = Script(decision_for(checkout))
    assert gate(checkout, scripted(script), tmp_path)[0] == 0
    launch = next(r for r in script.requests if "GraphQLClientSubmitRun" in r["query"])
    assert "aisec/force" not in {t["key"] for t in launch["variables"]["executionParams"]["executionMetadata"]["tags"]}
