"""The notifier: one alert per circuit opening, to the alerts log, the Dagster log, a webhook
and Slack.

Settings: ``log_path`` (JSON lines, default ``$FLEET_HOME/alerts.log``), ``store`` (where the
put-if-absent claim of each opening is written, ``alerts/<target>/opening-<epoch>.json``: the
conditional create is what makes "one alert per opening" hold across concurrent runs and
machines), ``webhook_url_env_var`` (variable holding a URL that receives the alert as a JSON
POST; read at send time so the URL, often a secret, never appears in config, logs or the UI;
default ``FLEET_ALERT_WEBHOOK``), ``slack_channel`` and ``slack_token_env_var`` (Slack through
dagster-slack; default token variable ``FLEET_SLACK_TOKEN``; ``slack_api_url`` is Slack's Web
API, changed only to reach a stand-in), ``timeout_seconds``.

Only semantic drift (class C) calls this: transient, environmental and hard failures
(A, B, D) are handled by retries and tombstones and never page anyone.
"""

import json
import os
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from fleet_assets import settings
from fleet_assets.resources.store import ObjectStoreResource


@dataclass(frozen=True)
class CircuitAlert:
    target: str
    check: str
    partition: str
    reason: str
    opening: str
    reset_command: str
    reset_job: str
    run_id: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    kind: str = "circuit_open"

    def text(self) -> str:
        return (f"[fleet] circuit OPEN for {self.target}: {self.reason}. Evidence partition "
                f"{self.partition}. Fix targets.yaml, then `{self.reset_command}` "
                f"(or the `{self.reset_job}` job).")

    def json_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, default=str).encode()


class AlertsResource(dg.ConfigurableResource):
    """Sends each circuit opening exactly once, whatever the number of runs that see it."""

    log_path: str
    store: ObjectStoreResource
    webhook_url_env_var: str = "FLEET_ALERT_WEBHOOK"
    slack_channel: str = ""
    slack_token_env_var: str = "FLEET_SLACK_TOKEN"
    slack_api_url: str = "https://slack.com/api/"
    timeout_seconds: float = 5.0

    def claim_key(self, alert: CircuitAlert) -> str:
        epoch = alert.opening.rsplit("@", 1)[-1]
        return f"alerts/{alert.target}/opening-{epoch}.json"

    def notify_opening(self, alert: CircuitAlert, log: Any) -> bool:
        """Send ``alert`` unless this opening was already announced; True when sent here."""
        if not self.store.get_store().put_if_absent(self.claim_key(alert), alert.json_bytes()):
            log.info(f"circuit for {alert.target} already announced ({alert.opening}); no new alert")
            return False
        self._append_log(alert)
        log.error(alert.text())
        self._post_webhook(alert, log)
        self._post_slack(alert, log)
        return True

    def _append_log(self, alert: CircuitAlert) -> None:
        path = Path(self.log_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = alert.json_bytes() + b"\n"
        # one write() on an O_APPEND descriptor: lines from concurrent processes never interleave
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def _post_webhook(self, alert: CircuitAlert, log: Any) -> None:
        url = settings.secret(self.webhook_url_env_var)
        if not url:
            return
        request = urllib.request.Request(url, data=alert.json_bytes(), method="POST",
                                         headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=self.timeout_seconds) as response:
                response.read()
        except OSError as exc:  # URLError, HTTPError, timeouts; the URL itself is never logged
            log.warning(f"alert webhook (${self.webhook_url_env_var}) failed: "
                        f"{type(exc).__name__}; the alert is in {self.log_path}")

    def _post_slack(self, alert: CircuitAlert, log: Any) -> None:
        token = settings.secret(self.slack_token_env_var)
        if not self.slack_channel or not token:
            return
        from dagster_slack import SlackResource

        client = SlackResource(token=token).get_client()
        client.base_url, client.timeout = self.slack_api_url, int(max(1, self.timeout_seconds))
        try:
            client.chat_postMessage(channel=self.slack_channel, text=alert.text())
        except Exception as exc:  # noqa: BLE001 - Slack being down must not hide the verdict
            log.warning(f"Slack alert to {self.slack_channel} failed: {type(exc).__name__}; "
                        f"the alert is in {self.log_path}")
