"""`aisec gate --remote URL`: each model's gate runs on a Dagster deployment, asked through its
GraphQL API (the `dagster-graphql` client), so that it goes through the deployment's run queue,
concurrency limits, run launcher (Kubernetes, Docker, ...) and PostgreSQL history.

Per model, the CI runner reads which evidence the deployment already holds for exactly the inputs
this checkout has (fingerprints computed here over the registry's artifact digests: nothing is
hashed or executed on the runner), launches the same asset selection the local gate would (that
evidence to measure, then the decision) on the `gate_models` job, waits with progress lines and
reads the decision from that run's own materialization event.

Fail closed: approved only when that run's decision says approved, for the model, version,
artifact digest and use case this checkout asks about, and the run succeeded. Anything else (a
refused launch, a run without a decision, a timeout, an interrupt) is BLOCKED with the reason. A
deployment that cannot be reached or answers nonsense judged nothing: `CouldNotJudge` (exit 2). Credentials come from the URL (`https://user:password@host`, HTTP basic auth) or
$AISEC_REMOTE_TOKEN (an `Authorization: Bearer` token) and are never printed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..evidence_kinds import gating_kinds_for
from ..governance.decision import Decision
from ..governance.policy import Policy, load_policy
from ..inventory import Model
from ..verdict import Verdict
from .automation import GATE_JOB
from .decision import DECISION_KEY
from .evidence import INPUTS_KEY, RECENT_EVIDENCE, VERDICT_KEY, fingerprints, input_versions
from .gate import CouldNotJudge, evidence_to_measure, evidence_to_run, gate_each, gate_run_tags
from .keys import asset_key

TOKEN_ENV = "AISEC_REMOTE_TOKEN"
TIMEOUT_ENV = "AISEC_REMOTE_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 3600.0  # one model's run, queue time included
REQUEST_TIMEOUT_SECONDS = 60
POLL_SECONDS = 2.0
TERMINAL = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
TRIGGER = "ci-remote"

EVIDENCE_QUERY = """
query AisecEvidence($key: AssetKeyInput!, $limit: Int!) {
  assetOrError(assetKey: $key) {
    __typename
    ... on Asset { assetMaterializations(limit: $limit) {
      runId timestamp metadataEntries { label ... on JsonMetadataEntry { jsonString } } } }
  }
}"""

RUN_QUERY = """
query AisecRun($runId: ID!, $cursor: String) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
  logsForRun(runId: $runId, afterCursor: $cursor) {
    __typename
    ... on EventConnection {
      cursor hasMore
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on MaterializationEvent {
          assetKey { path } metadataEntries { label ... on JsonMetadataEntry { jsonString } } }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}"""


class RemoteError(Exception):
    """The deployment could not be asked, refused, or did not answer in time."""


@dataclasses.dataclass(frozen=True)
class Deployment:
    """Where to ask: the URL as shown to people (no credentials) and the client's settings."""

    shown: str
    hostname: str
    port: int | None
    use_https: bool
    path_prefix: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> "Deployment":
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--remote needs an http(s) URL of a Dagster webserver, e.g. "
                             f"http://dagster.internal:3000 (got {_without_credentials(url)!r})")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"--remote: {exc}") from None
        prefix = parts.path.rstrip("/")
        if prefix.endswith("/graphql"):
            prefix = prefix[: -len("/graphql")]
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        shown = f"{parts.scheme}://{host}{f':{port}' if port else ''}{prefix}"
        return cls(shown, host, port, parts.scheme == "https", prefix,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f"{parts.netloc.rpartition('@')[0]}@", "***@") if "@" in parts.netloc else url


class RemoteGate:
    """The gate over one inventory checkout, run on the Dagster deployment at `url`."""

    def __init__(self, url: str, root: Path, timeout_seconds: float | None = None,
                 poll_seconds: float = POLL_SECONDS):
        self.deployment = Deployment.parse(url)
        self.root = root
        self.timeout = timeout_seconds or float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_SECONDS)
        self.poll = poll_seconds
        token = os.environ.get(TOKEN_ENV) or None
        self._secrets = [s for s in (self.deployment.password, token) if s]
        self.client = self._client(token)
        self._run_id: str | None = None
        self._prints: dict[str, str] = {}
        self._latest: dict[str, str | None] = {}  # kind -> fingerprint of its latest record there

    def _client(self, token: str | None):
        from dagster_graphql import DagsterGraphQLClient
        from requests.auth import HTTPBasicAuth

        d = self.deployment
        auth = HTTPBasicAuth(d.username or "", d.password or "") if d.username or d.password else None
        return DagsterGraphQLClient(d.hostname, port_number=d.port, use_https=d.use_https,
                                    path_prefix=d.path_prefix, timeout=REQUEST_TIMEOUT_SECONDS,
                                    headers={"Authorization": f"Bearer {token}"} if token else None,
                                    auth=auth)

    # --- the gate --------------------------------------------------------------------------------

    def run(self, models: list[Model], use_case: str | None = None, force: bool = False,
            interrupted=lambda: None, environment: str | None = None) -> list[Decision]:
        """Same contract as the local `Gate.run` (`gate_each`): one decision per model, in order."""
        policy = load_policy(self.root)

        def one(model: Model) -> Decision:
            self._run_id = None
            return self.gate_one(model, policy, use_case, force, environment)

        return gate_each(models, one, self._interrupted, interrupted, f" on {self.deployment.shown}")

    def gate_one(self, model: Model, policy: Policy, use_case: str | None, force: bool,
                 environment: str | None = None) -> Decision:
        try:
            measure = self.evidence_to_measure(model, policy, force)
            reused = [k.name for k in gating_kinds_for(model) if k.name not in measure]
            if reused:
                print(f"    reusing {', '.join(reused)}: the deployment holds them for the same "
                      "bytes and inputs", file=sys.stderr)
            selected = evidence_to_run(model, self._prints, measure, self._latest)
            self._run_id = self.launch(model, set(selected), use_case, environment, force)
            print(f"    launched run {self._run_id} (job {GATE_JOB})", file=sys.stderr)
            status, recorded = self.follow(self._run_id, model)
            return self.judged(model, self._run_id, status, recorded, use_case, reused)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - anything the deployment does wrong blocks
            unanswered = could_not_ask(exc)
            if unanswered is not None:
                raise CouldNotJudge(f"the deployment at {self.deployment.shown} {unanswered}"
                                    f"{self._run_text()}: {self.describe(exc)}") from None
            return self.blocked(model, f"the remote gate on {self.deployment.shown} failed"
                                       f"{self._run_text()}: {self.describe(exc)}; never approved")

    def evidence_to_measure(self, model: Model, policy: Policy, force: bool) -> set[str]:
        """The local gate's rule, on the deployment's records, with fingerprints over the
        registry's artifact digests (nothing is hashed on the CI runner)."""
        registered = {a.path: a.sha256 for a in model.entry.artifacts}
        prints = fingerprints(model, input_versions(model, self.root, registered))
        self._prints, self._latest = prints, {}

        def recorded(kind: str, fingerprint: str) -> Verdict | None:
            found, self._latest[kind] = self.evidence(asset_key(model.name, kind).path, fingerprint)
            return found

        return evidence_to_measure(model, prints, policy, force, recorded)

    def evidence(self, key: list[str], fingerprint: str) -> tuple[Verdict | None, str | None]:
        """The deployment's newest verdict for `fingerprint`, and the fingerprint of its latest
        materialization (evidence recorded on other inputs since is recorded again: a revert)."""
        data = self.query(EVIDENCE_QUERY, {"key": {"path": key}, "limit": RECENT_EVIDENCE})
        asset = data["assetOrError"]
        if asset["__typename"] != "Asset":
            return None, None
        latest = None
        for index, materialization in enumerate(asset["assetMaterializations"]):
            value = json_entry(materialization["metadataEntries"], VERDICT_KEY)
            try:
                verdict = Verdict.from_dict(value) if value is not None else None
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            if index == 0 and verdict is not None:
                latest = verdict.figures.get(INPUTS_KEY)
            if verdict is not None and verdict.figures.get(INPUTS_KEY) == fingerprint:
                return verdict, latest
        return None, latest

    def launch(self, model: Model, measure: set[str], use_case: str | None,
               environment: str | None, force: bool = False) -> str:
        keys = [asset_key(model.name, kind) for kind in sorted(measure)]
        decision = asset_key(model.name, "deployment_decision")
        config: dict[str, Any] = {"use_case": use_case}
        if environment is not None:  # only named when asked: older deployments lack the field
            config["environment"] = environment
        run_config = {"ops": {decision.to_python_identifier(): {"config": config}}}  # its op's name
        return self.client.submit_job_execution(GATE_JOB, run_config=run_config,
                                                tags=gate_run_tags(model, TRIGGER, force),
                                                asset_selection=[*keys, decision])

    def follow(self, run_id: str, model: Model) -> tuple[str, dict | None]:
        """Wait for the run to end, printing its progress; its status and recorded decision."""
        deadline = time.monotonic() + self.timeout
        decision_path = asset_key(model.name, "deployment_decision").path
        cursor, status, recorded = None, None, None
        while True:
            data = self.query(RUN_QUERY, {"runId": run_id, "cursor": cursor})
            run, logs = data["runOrError"], data["logsForRun"]
            if run["__typename"] != "Run":
                raise RemoteError(f"run {run_id[:8]}: {run['__typename']}: {run.get('message', '')}")
            if logs["__typename"] != "EventConnection":
                raise RemoteError(f"run {run_id[:8]} events: {logs['__typename']}: {logs.get('message', '')}")
            if run["status"] != status:
                status = run["status"]
                print(f"    run {run_id[:8]}: {status.lower()}", file=sys.stderr)
            for event in logs["events"]:
                recorded = self._show(event, decision_path) or recorded
            cursor = logs["cursor"]
            if status in TERMINAL and not logs["hasMore"]:
                return status, self._drained(run_id, cursor, decision_path, recorded)
            if time.monotonic() > deadline:
                raise RemoteError(f"run {run_id[:8]} did not finish within {self.timeout:g} s "
                                  f"(last status {status}); it may still run on the deployment")
            if not logs["hasMore"]:
                time.sleep(self.poll)

    def _drained(self, run_id: str, cursor: str, decision_path: list[str], recorded):
        """Events written between the status read and the end (the query reads both at once)."""
        data = self.query(RUN_QUERY, {"runId": run_id, "cursor": cursor})
        logs = data["logsForRun"]
        if logs["__typename"] != "EventConnection":
            return recorded
        for event in logs["events"]:
            recorded = self._show(event, decision_path) or recorded
        return recorded

    def _show(self, event: dict, decision_path: list[str]) -> dict | None:
        """Print what the assets say; return the decision if this event records it."""
        kind = event["__typename"]
        if kind == "LogMessageEvent" and event.get("level") in ("INFO", "WARNING", "ERROR", "CRITICAL"):
            print(f"    {self.redacted(event['message'])}", file=sys.stderr)
        elif kind == "ExecutionStepFailureEvent" and event.get("stepKey") != _op(decision_path):
            print(f"    step {event.get('stepKey')} failed (see the run in the deployment's UI)",
                  file=sys.stderr)  # the decision's own step fails whenever it blocks
        elif kind == "MaterializationEvent" and event["assetKey"]["path"] == decision_path:
            return json_entry(event["metadataEntries"], DECISION_KEY)
        return None

    def judged(self, model: Model, run_id: str, status: str, recorded: dict | None,
               use_case: str | None, reused: list[str]) -> Decision:
        """The run's own decision, checked against what this checkout asked about."""
        where = f"remote run {run_id} on {self.deployment.shown}"
        if recorded is None:
            return self.blocked(model, f"the {where} ended {status} without a decision; see the run "
                                       "in the deployment's UI")
        try:
            decision = Decision.from_dict(recorded)
        except (KeyError, TypeError, ValueError, AttributeError):
            decision = None
        if decision is None or not well_formed(decision):
            return self.blocked(model, f"the {where} recorded a decision that cannot be read")
        problems = mismatches(decision, model, use_case)
        problems += self.unsigned(decision, run_id)
        if decision.approved and status != "SUCCESS":
            problems.append(f"the {where} ended {status}, so its approval does not stand")
        if not decision.approved and reused and _missing(decision, reused):
            problems.append(f"the deployment found no evidence for {', '.join(_missing(decision, reused))} "
                            "on its own inputs although this checkout's match a record there: does it "
                            "run this checkout's inventory and aisec release? Gate with --force to re-measure")
        if not problems:
            return decision
        return dataclasses.replace(decision, approved=False, reasons=(*decision.reasons, *problems))

    def unsigned(self, decision: Decision, run_id: str) -> list[str]:
        """An approval counts only when the deployment's gate signed it for this run, with a key
        this checkout's policy lists as a gate: a look-alike server cannot answer "approved"."""
        if not decision.approved:
            return []
        from ..governance.attestation import verify_attestation
        from ..governance.policy import load_policy

        gate, problem = verify_attestation(decision, load_policy(self.root).people, run_id)
        if gate is not None:
            return []
        return [f"the deployment's approval proves nothing: {problem}; the deployment must sign its "
                "decisions with a gate key ($AISEC_GATE_KEY) that this inventory's policy lists"]

    # --- helpers -------------------------------------------------------------------------------

    def query(self, text: str, variables: dict) -> dict:
        return self.client._execute(text, variables)  # the client's transport, auth and errors

    def blocked(self, model: Model, reason: str) -> Decision:
        return Decision(model.name, model.entry.version, "unknown", False, (self.redacted(reason),),
                        digest=model.entry.digest)

    def _interrupted(self, model: Model, signum: int) -> Decision:
        run = self._run_id
        if run is not None:
            try:
                self.client.terminate_run(run)
            except Exception:  # noqa: BLE001 - best effort: the decision is blocked regardless
                pass
        where = f" while remote run {run} gated this model (termination requested)" if run else ""
        return self.blocked(model, f"the gate was interrupted (signal {signum}){where}: never "
                                   "approved; gate it again")

    def _run_text(self) -> str:
        return f" (run {self._run_id})" if self._run_id else ""

    def describe(self, exc: BaseException) -> str:
        """One line about an error: the client's errors carry the whole query, keep the gist."""
        from dagster_graphql import DagsterGraphQLClientError

        if isinstance(exc, DagsterGraphQLClientError) and len(exc.args) >= 2:
            text = f"{exc.args[0]}: {exc.args[1]}"
        else:
            cause = exc.__cause__ or exc.__context__
            shown = cause if cause is not None and str(cause).strip() else exc
            lines = str(shown).strip().splitlines()
            text = f"{type(shown).__name__}: {lines[0]}" if lines else type(shown).__name__
        return self.redacted(" ".join(text.split())[:600])

    def redacted(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def could_not_ask(exc: BaseException) -> str | None:
    """Why nothing could be judged (exit 2, not a block), or None when the deployment did answer:
    it cannot be reached, or what it answers is not a Dagster deployment's GraphQL."""
    import requests
    from gql.transport.exceptions import (TransportProtocolError, TransportQueryError,
                                          TransportServerError)

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (requests.ConnectionError, requests.Timeout)):
            return "cannot be reached"
        if isinstance(seen, (TransportServerError, TransportProtocolError, TransportQueryError,
                             json.JSONDecodeError, KeyError, TypeError)):
            return "did not answer as a Dagster deployment does"
        seen = seen.__cause__ or seen.__context__
    return None


def _op(path: list[str]) -> str:
    import dagster as dg

    return dg.AssetKey(path).to_python_identifier()


def json_entry(entries: list[dict], label: str) -> Any:
    for entry in entries or ():
        if entry.get("label") == label and "jsonString" in entry:
            try:
                return json.loads(entry["jsonString"])
            except (TypeError, ValueError):
                return None
    return None


def well_formed(decision: Decision) -> bool:
    texts = (decision.model, decision.version, decision.tier, decision.digest, *decision.reasons,
             *decision.conditions)
    return (all(isinstance(t, str) for t in texts) and isinstance(decision.evidence, dict)
            and all(isinstance(v, str) for v in decision.evidence.values()))


def mismatches(decision: Decision, model: Model, use_case: str | None) -> list[str]:
    """A decision speaks only for the model, version, bytes and use case it was made on."""
    problems = []
    if decision.model != model.name or decision.version != model.entry.version:
        problems.append(f"the deployment decided on {decision.model} {decision.version}, this checkout "
                        f"registers {model.name} {model.entry.version}: deploy this inventory there first")
    if decision.digest != model.entry.digest:
        problems.append(f"the deployment decided on artifact digest {decision.digest[:12] or 'unknown'}, "
                        f"this checkout registers {model.entry.digest[:12]}: deploy this inventory there first")
    if decision.use_case != use_case:
        problems.append(f"the deployment decided for use case {decision.use_case!r}, this gate asked "
                        f"for {use_case!r}")
    return problems


def _missing(decision: Decision, reused: list[str]) -> list[str]:
    return [kind for kind in reused
            if any(r.startswith(f"{kind}: not assessed") for r in decision.reasons)]
