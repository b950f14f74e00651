"""A real Dagster webserver on 127.0.0.1 for UI tests: started, waited for, stopped with its group."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from postgres_server import free_port

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = ["-w", str(REPO / "workspace.yaml")]


def gql(url: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(url, json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def wait_for_workspace(url: str, procs: list[subprocess.Popen], timeout: float = 180) -> None:
    """Until the GraphQL API at `url` shows the code location loaded (any process exiting fails)."""
    deadline = time.monotonic() + timeout
    query = "{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError { __typename } } } } }"
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), "the webserver or the daemon exited"
        try:
            entries = gql(url, query)["workspaceOrError"]["locationEntries"]
            if entries and entries[0]["locationOrLoadError"]:
                assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation", entries
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError("the webserver did not load its workspace in time")


def start(module: list[str], env: dict[str, str], log=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *module, *WORKSPACE], cwd=REPO, env=env,
                            stdout=log, stderr=log, start_new_session=True)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        os.killpg(proc.pid, 15)
    for proc in procs:
        proc.wait(timeout=60)


@contextmanager
def running_webserver(env: dict[str, str], daemon: bool = False, log=subprocess.DEVNULL) -> Iterator[str]:
    """The webserver (and the daemon, for runs launched through it) with `env`; yields its URL."""
    port = free_port()
    procs = [start(["dagster_webserver", "-h", "127.0.0.1", "-p", str(port)], env, log)]
    if daemon:
        procs.append(start(["dagster._daemon", "run"], env, log))
    try:
        wait_for_workspace(f"http://127.0.0.1:{port}/graphql", procs)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(procs)


def gated_on_its_own(run: dict, model: str) -> bool:
    """A new model's run gates that model alone, whichever way the deployment took: before the
    daemon reloads its code location (`gate_unlisted_model`, the CLI's path, no asset selection)
    or after it (`gate_models` selecting that model's assets only). Never an empty selection of
    the whole job."""
    selected = run["assetSelection"] or []
    if run["jobName"] == "gate_unlisted_model":
        return not selected
    return run["jobName"] == "gate_models" and bool(selected) and all(k["path"][0] == model for k in selected)
