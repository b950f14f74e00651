"""Alerts for production bias drift: pluggable sinks, deduplicated by a small state file.

Sinks come from environment variables (URLs and credentials are secrets: they are read at
send time and never written to messages, state or logs):
  AISEC_ALERT_WEBHOOK_URL        POST the alert as JSON
  AISEC_ALERT_SLACK_WEBHOOK_URL  POST {"text": ...} (Slack incoming-webhook format)
  AISEC_ALERT_SMTP_HOST, AISEC_ALERT_SMTP_PORT (587), AISEC_ALERT_SMTP_USER,
  AISEC_ALERT_SMTP_PASSWORD, AISEC_ALERT_SMTP_STARTTLS (1), AISEC_ALERT_EMAIL_FROM,
  AISEC_ALERT_EMAIL_TO (comma-separated)
  AISEC_ALERT_LOG_FILE           append one JSON line per alert

Deduplication: the state file remembers, per model + segment + metric, when it last alerted.
An ongoing drift alerts again only after `realert_after`; a drift that clears is forgotten, so
its return alerts at once.
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from .report import BiasReport

DEFAULT_REALERT = timedelta(hours=24)
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Alert:
    model: str
    segment: str
    metric: str
    message: str
    value: float
    reference: float
    threshold: float
    at: str

    @property
    def key(self) -> str:
        return f"{self.model}|{self.segment}|{self.metric}"


class Sink(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class WebhookSink:
    url: str
    name: str = "webhook"

    def send(self, alert: Alert) -> None:
        _post_json(self.url, asdict(alert))


@dataclass(frozen=True)
class SlackSink:
    url: str
    name: str = "slack"

    def send(self, alert: Alert) -> None:
        _post_json(self.url, {"text": f":warning: aisec bias drift on *{alert.model}*: {alert.message}"})


@dataclass(frozen=True)
class EmailSink:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    name: str = "email"

    def send(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"[aisec] bias drift: {alert.model} {alert.segment} {alert.metric}"
        message["From"], message["To"] = self.sender, ", ".join(self.recipients)
        message.set_content(f"{alert.message}\n\nmodel: {alert.model}\nat: {alert.at}\n")
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


@dataclass(frozen=True)
class LogFileSink:
    path: Path
    name: str = "log file"

    def send(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(alert), sort_keys=True) + "\n")


def _post_json(url: str, payload: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # the configured URL
        response.read()


def sinks_from_env(environ: Mapping[str, str] = os.environ) -> list[Sink]:
    sinks: list[Sink] = []
    if environ.get("AISEC_ALERT_WEBHOOK_URL"):
        sinks.append(WebhookSink(environ["AISEC_ALERT_WEBHOOK_URL"]))
    if environ.get("AISEC_ALERT_SLACK_WEBHOOK_URL"):
        sinks.append(SlackSink(environ["AISEC_ALERT_SLACK_WEBHOOK_URL"]))
    if environ.get("AISEC_ALERT_SMTP_HOST") and environ.get("AISEC_ALERT_EMAIL_TO"):
        sinks.append(EmailSink(
            host=environ["AISEC_ALERT_SMTP_HOST"], port=int(environ.get("AISEC_ALERT_SMTP_PORT", "587")),
            sender=environ.get("AISEC_ALERT_EMAIL_FROM", "aisec@localhost"),
            recipients=tuple(a.strip() for a in environ["AISEC_ALERT_EMAIL_TO"].split(",") if a.strip()),
            username=environ.get("AISEC_ALERT_SMTP_USER"), password=environ.get("AISEC_ALERT_SMTP_PASSWORD"),
            starttls=environ.get("AISEC_ALERT_SMTP_STARTTLS", "1") not in ("0", "false", "no")))
    if environ.get("AISEC_ALERT_LOG_FILE"):
        sinks.append(LogFileSink(Path(environ["AISEC_ALERT_LOG_FILE"])))
    return sinks


def alerts_from_report(report: BiasReport, model: str, now: datetime | None = None) -> list[Alert]:
    at = (now or datetime.now(timezone.utc)).isoformat()
    return [Alert(model, v.key, v.metric, v.sentence(), float(v.value), float(v.reference), v.threshold, at)
            for v in report.violations]


@dataclass
class DispatchResult:
    sent: list[str] = field(default_factory=list)  # alert keys delivered by at least one sink
    suppressed: list[str] = field(default_factory=list)  # already alerted within realert_after
    failed: list[str] = field(default_factory=list)  # "key via sink: error", retried next time
    resolved: list[str] = field(default_factory=list)  # keys no longer drifting, forgotten


def dispatch(model: str, alerts: Sequence[Alert], sinks: Sequence[Sink], state_path: Path,
             now: datetime | None = None, realert_after: timedelta = DEFAULT_REALERT) -> DispatchResult:
    """Send each alert not already sent within `realert_after`; clear keys of this model that
    no longer alert. An alert no sink delivered is not recorded, so the next run retries it."""
    now = now or datetime.now(timezone.utc)
    state = _load_state(state_path)
    result = DispatchResult()
    current = {a.key for a in alerts}
    for key in [k for k in state if k.startswith(f"{model}|") and k not in current]:
        del state[key]
        result.resolved.append(key)
    for alert in alerts:
        last = state.get(alert.key)
        if last and now - datetime.fromisoformat(last) < realert_after:
            result.suppressed.append(alert.key)
            continue
        if _deliver(alert, sinks, result):
            state[alert.key] = now.isoformat()
            result.sent.append(alert.key)
    _save_state(state_path, state)
    return result


def _deliver(alert: Alert, sinks: Sequence[Sink], result: DispatchResult) -> bool:
    if not sinks:
        result.failed.append(f"{alert.key}: no alert sink configured")
        return False
    delivered = False
    for sink in sinks:
        try:
            sink.send(alert)
            delivered = True
        except Exception as exc:  # noqa: BLE001 - a sink failing must not stop the others; no URL in the text
            result.failed.append(f"{alert.key} via {sink.name}: {type(exc).__name__}")
    return delivered


def _load_state(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # a corrupt state file re-alerts rather than silencing alerts
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_state(path: Path, state: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)
