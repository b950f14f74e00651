"""Production drift monitoring on a SYNTHETIC log resampled from real COMPAS rows: logs from
files and SQL URLs, history kept as counts, one alert per sustained drift through a real
local webhook server and a real log file."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import date, datetime, time, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aisec_pipeline.fairness.alerts import LogFileSink, SlackSink, WebhookSink, sinks_from_env
from aisec_pipeline.fairness.counts import cell_counts
from aisec_pipeline.fairness.demo_data import synthetic_production_log
from aisec_pipeline.fairness.drift import daily_counts, load_counts, monitor_production, update_history
from aisec_pipeline.fairness.production_log import LogSourceError, read_production_log
from aisec_pipeline.governance.policy import BiasPolicy
from aisec_pipeline.inventory.schema import Evaluation, Monitoring
from aisec_pipeline.verdict import Status

START = date(2026, 1, 1)
DRIFT_DAY = 10
DRIFTED = {"sex": "Female", "age_cat": "Less than 25"}
COLUMNS = ["two_year_recid", "prediction", "sex", "age_cat"]


@pytest.fixture
def evaluation() -> Evaluation:
    return Evaluation(data="eval.parquet", label="two_year_recid", prediction="prediction",
                      segments={"sex": ("Female", "Male"), "age_cat": ("Less than 25", "25 - 45", "Greater than 45")},
                      intersections=(("sex", "age_cat"),))


@pytest.fixture(scope="module")
def production_log(compas):
    return synthetic_production_log(compas, "two_year_recid", "prediction", days=20, rows_per_day=800,
                                    start=START, seed=1, drift_from_day=DRIFT_DAY, drift_segment=DRIFTED,
                                    drift_fpr_increase=0.25)


@pytest.fixture
def baseline(compas):
    return cell_counts(compas, "two_year_recid", "prediction", ["sex", "age_cat"])


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # the http.server API names it
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Receiver.received
    server.shutdown()
    server.server_close()


def day_of(index: int) -> date:
    return START + timedelta(days=index)


def test_sustained_drift_alerts_exactly_once(tmp_path, production_log, baseline, evaluation, webhook):
    url, received = webhook
    log_file = tmp_path / "alerts.log"
    sinks = [WebhookSink(f"{url}/hook"), LogFileSink(log_file)]
    policy = BiasPolicy(max_difference=0.15, metrics=("fpr",), drift_max_difference=0.10)
    monitoring = Monitoring(log="log.parquet", window_days=7)
    statuses = {}
    for index in range(20):  # the monitor runs daily, seeing the log as it has arrived so far
        today = day_of(index)
        arrived = production_log[production_log["timestamp"].dt.date == today]
        result = monitor_production("compas", arrived, baseline, evaluation, monitoring, policy,
                                    tmp_path / "history.parquet", today=today, sinks=sinks,
                                    alert_state=tmp_path / "alerts.json",
                                    now=datetime.combine(today, time(23), tzinfo=timezone.utc),
                                    realert_after=timedelta(days=30))
        statuses[index] = result.verdict.status
    assert all(statuses[i] is Status.PASSED for i in range(DRIFT_DAY)), statuses
    assert statuses[19] is Status.FAILED
    assert len(received) == 1, received
    path, payload = received[0]
    assert path == "/hook" and payload["model"] == "compas" and payload["metric"] == "fpr"
    assert payload["segment"] == "sex=Female x age_cat=Less than 25"
    assert payload["message"].startswith("FPR for sex=Female x age_cat=Less than 25 is ")
    assert "at approval (drift threshold 0.1)" in payload["message"]
    assert [json.loads(line)["segment"] for line in log_file.read_text().splitlines()] == [payload["segment"]]

    history = load_counts(tmp_path / "history.parquet")
    assert history["day"].nunique() == 20
    assert int(history[["tp", "fp", "tn", "fn"]].to_numpy().sum()) == len(production_log)


def test_realert_after_interval_and_after_recovery(tmp_path, production_log, baseline, evaluation, webhook):
    url, received = webhook
    policy = BiasPolicy(max_difference=0.15, metrics=("fpr",))
    monitoring = Monitoring(log="log.parquet", window_days=7)

    def run(log, today, now):
        return monitor_production("compas", log, baseline, evaluation, monitoring, policy, tmp_path / "h.parquet",
                                  today=today, sinks=[WebhookSink(url)], alert_state=tmp_path / "state.json",
                                  now=now, realert_after=timedelta(hours=24))

    drifting = production_log[production_log["timestamp"].dt.date >= day_of(DRIFT_DAY)]
    first = run(drifting, day_of(19), datetime(2026, 1, 20, 9, tzinfo=timezone.utc))
    again = run(drifting, day_of(19), datetime(2026, 1, 20, 15, tzinfo=timezone.utc))
    later = run(drifting, day_of(19), datetime(2026, 1, 21, 10, tzinfo=timezone.utc))
    assert first.alerts.sent and again.alerts.suppressed == first.alerts.sent and later.alerts.sent
    assert len(received) == 2

    calm = production_log[production_log["timestamp"].dt.date < day_of(DRIFT_DAY)]
    recovered = run(calm, day_of(9), datetime(2026, 1, 21, 11, tzinfo=timezone.utc))
    assert recovered.verdict.status is Status.PASSED and recovered.alerts.resolved == first.alerts.sent


def test_a_failing_sink_does_not_record_the_alert(tmp_path, production_log, baseline, evaluation):
    policy = BiasPolicy(max_difference=0.15, metrics=("fpr",))
    drifting = production_log[production_log["timestamp"].dt.date >= day_of(DRIFT_DAY)]
    result = monitor_production("compas", drifting, baseline, evaluation, Monitoring(log="x.parquet"), policy,
                                tmp_path / "h.parquet", sinks=[SlackSink("http://127.0.0.1:9/hook?token=s3cret")],
                                alert_state=tmp_path / "state.json")
    assert result.verdict.status is Status.FAILED and not result.alerts.sent
    assert result.alerts.failed and "s3cret" not in " ".join(result.alerts.failed)
    assert json.loads((tmp_path / "state.json").read_text()) == {}


def test_history_update_is_idempotent(tmp_path, production_log, evaluation):
    daily = daily_counts(production_log, evaluation, "timestamp")
    update_history(tmp_path / "h.parquet", daily)
    again = update_history(tmp_path / "h.parquet", daily[daily["day"] >= "2026-01-15"])
    assert int(again[["tp", "fp", "tn", "fn"]].to_numpy().sum()) == len(production_log)


def test_reads_parquet_csv_and_sqlite_files(tmp_path, production_log):
    since = datetime(2026, 1, 15, tzinfo=timezone.utc)
    expected = int((production_log["timestamp"] >= since).sum())
    production_log.to_parquet(tmp_path / "log.parquet")
    production_log.to_csv(tmp_path / "log.csv", index=False)
    with sqlite3.connect(tmp_path / "log.sqlite") as connection:
        production_log.assign(timestamp=production_log["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")) \
            .to_sql("predictions", connection, index=False)
    for name in ("log.parquet", "log.csv", "log.sqlite"):
        frame = read_production_log(Monitoring(log=name), tmp_path, COLUMNS, since=since)
        assert len(frame) == expected, name
        assert list(frame.columns) == ["timestamp", *COLUMNS]


def test_reads_a_sqlalchemy_url_from_the_named_variable(tmp_path, production_log):
    with sqlite3.connect(tmp_path / "db.sqlite") as connection:
        production_log.to_sql("scored", connection, index=False)
    monitoring = Monitoring(url_env="AISEC_TEST_LOG_URL", table="scored")
    frame = read_production_log(monitoring, None, COLUMNS, environ={"AISEC_TEST_LOG_URL": f"sqlite:///{tmp_path}/db.sqlite"})
    assert len(frame) == len(production_log)
    with pytest.raises(LogSourceError, match="AISEC_TEST_LOG_URL .* is not set"):
        read_production_log(monitoring, None, COLUMNS, environ={})


def test_database_errors_never_show_the_url_or_password(tmp_path):
    url = f"sqlite:///{tmp_path}/s3cret-dir/absent.sqlite"
    monitoring = Monitoring(url_env="LOG_URL")
    with pytest.raises(LogSourceError) as error:
        read_production_log(monitoring, None, COLUMNS, environ={"LOG_URL": url})
    assert "s3cret" not in str(error.value) and "LOG_URL" in str(error.value)
    with pytest.raises(LogSourceError) as error:
        read_production_log(monitoring, None, COLUMNS,
                            environ={"LOG_URL": "postgresql+psycopg2://aisec:hunter2pw@127.0.0.1:1/logs"})
    assert "hunter2pw" not in str(error.value)


def test_sinks_from_env():
    sinks = sinks_from_env({"AISEC_ALERT_WEBHOOK_URL": "http://x", "AISEC_ALERT_LOG_FILE": "/tmp/a.log",
                            "AISEC_ALERT_SMTP_HOST": "mail", "AISEC_ALERT_EMAIL_TO": "a@b.c, d@e.f",
                            "AISEC_ALERT_SMTP_PASSWORD": "pw"})
    assert [s.name for s in sinks] == ["webhook", "email", "log file"]
    assert sinks[1].recipients == ("a@b.c", "d@e.f") and "pw" not in repr(sinks[1])
