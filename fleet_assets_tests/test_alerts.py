"""The notifier resource against a real webhook receiver on loopback."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fleet_assets.resources.alerts import AlertsResource, CircuitAlert
from fleet_assets.resources.store import LocalStoreResource


class Log:
    """Collects what the resource tells the Dagster log."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg: str) -> None:
        self.lines.append(("info", msg))

    def warning(self, msg: str) -> None:
        self.lines.append(("warning", msg))

    def error(self, msg: str) -> None:
        self.lines.append(("error", msg))


def alert(opening="jobs@0", partition="2025-06-12|jobs"):
    return CircuitAlert(target="jobs", check="schema_drift", partition=partition,
                        reason="check schema_drift failed", opening=opening,
                        reset_command="fleet reset-circuit jobs", reset_job="reset_circuit",
                        evidence={"fields_never_found": ["title"], "sample_urls": ["http://x/1"]})


def notifier(tmp_path) -> AlertsResource:
    return AlertsResource(log_path=str(tmp_path / "alerts.log"),
                          store=LocalStoreResource(root=str(tmp_path)))


def logged(tmp_path) -> list[dict]:
    path = tmp_path / "alerts.log"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_one_opening_seen_by_many_workers_at_once_is_sent_once(tmp_path, webhook):
    resource, logs = notifier(tmp_path), [Log() for _ in range(8)]
    partitions = [f"2025-06-{12 + n}|jobs" for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        sent = list(pool.map(lambda i: resource.notify_opening(alert(partition=partitions[i]),
                                                               logs[i]), range(8)))
    assert sent.count(True) == 1
    assert len(webhook.received) == 1 and logged(tmp_path) == webhook.received
    payload = webhook.received[0]
    assert payload["kind"] == "circuit_open" and payload["target"] == "jobs"
    assert payload["reset_command"] == "fleet reset-circuit jobs"
    assert payload["evidence"]["fields_never_found"] == ["title"]
    assert sum(1 for log in logs for level, _ in log.lines if level == "error") == 1


def test_each_new_opening_is_sent(tmp_path, webhook):
    resource = notifier(tmp_path)
    assert resource.notify_opening(alert("jobs@0"), Log())
    assert not resource.notify_opening(alert("jobs@0"), Log())
    assert resource.notify_opening(alert("jobs@41"), Log())
    assert [a["opening"] for a in webhook.received] == ["jobs@0", "jobs@41"]


def test_a_dead_webhook_keeps_the_alert_in_the_log_and_never_leaks_its_url(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret_url = f"http://127.0.0.1:{port}/services/T000/SECRET-TOKEN"
    monkeypatch.setenv("FLEET_ALERT_WEBHOOK", secret_url)
    log = Log()
    assert notifier(tmp_path).notify_opening(alert(), log)
    assert [a["target"] for a in logged(tmp_path)] == ["jobs"]
    warnings = [m for level, m in log.lines if level == "warning"]
    assert warnings and "FLEET_ALERT_WEBHOOK" in warnings[0]
    assert not any("SECRET-TOKEN" in m for _, m in log.lines)
    assert "SECRET-TOKEN" not in (tmp_path / "alerts.log").read_text()


def test_without_a_webhook_the_alert_goes_to_the_log_only(tmp_path, monkeypatch):
    monkeypatch.delenv("FLEET_ALERT_WEBHOOK", raising=False)
    log = Log()
    assert notifier(tmp_path).notify_opening(alert(), log)
    assert len(logged(tmp_path)) == 1
    assert [level for level, _ in log.lines] == ["error"]
    assert "fleet reset-circuit jobs" in log.lines[0][1]


def test_slack_gets_the_alert_through_dagster_slack(tmp_path, monkeypatch):
    calls: list[tuple[str, str, dict]] = []

    class SlackApi(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append((self.path, self.headers.get("Authorization", ""), json.loads(body)))
            payload = b'{"ok": true, "channel": "C1", "ts": "1.0"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlackApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("FLEET_ALERT_WEBHOOK", raising=False)
        monkeypatch.setenv("FLEET_SLACK_TOKEN", "xoxb-test-token")
        resource = notifier(tmp_path).model_copy(update={
            "slack_channel": "#fleet-alerts",
            "slack_api_url": f"http://127.0.0.1:{server.server_address[1]}/api/"})
        log = Log()
        assert resource.notify_opening(alert(), log)
    finally:
        server.shutdown()
        server.server_close()
    assert [(path, auth) for path, auth, _ in calls] == [
        ("/api/chat.postMessage", "Bearer xoxb-test-token")]
    body = calls[0][2]
    assert body["channel"] == "#fleet-alerts" and "fleet reset-circuit jobs" in body["text"]
    assert not [m for level, m in log.lines if level == "warning"]
