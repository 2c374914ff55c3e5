"""Shared fixtures for fleet_assets tests."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# The tests' sandbox days are in 2025; the partitions (read at import) must include them,
# here and in every Dagster process a test starts.
os.environ.setdefault("FLEET_START_DATE", "2025-01-01")

from fleet_assets.sandbox import SandboxProcess


@pytest.fixture(scope="session")
def sandbox_process():
    """One sandbox child process (site + 3 proxies) per test session (per xdist worker)."""
    with SandboxProcess(proxies=3) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_process):
    """The shared sandbox with every fault knob off and the request counters at zero."""
    sandbox_process.set_faults({})
    sandbox_process.reset_stats()
    return sandbox_process


@pytest.fixture
def fleet_env(tmp_path, monkeypatch, sandbox):
    """A fresh FLEET_HOME (and DAGSTER_HOME inside it) pointed at the sandbox; returns the home."""
    home = tmp_path / "home"
    monkeypatch.setenv("FLEET_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    monkeypatch.setenv("FLEET_SANDBOX_URL", sandbox.url)
    monkeypatch.delenv("FLEET_PROXIES", raising=False)
    monkeypatch.delenv("FLEET_ENV", raising=False)
    return home


class Receiver:
    """A real webhook endpoint on loopback (port 0) that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(monkeypatch):
    """A loopback webhook receiver, exported as FLEET_ALERT_WEBHOOK for the alerts resource."""
    receiver = Receiver()
    monkeypatch.setenv("FLEET_ALERT_WEBHOOK", receiver.url)
    yield receiver
    receiver.close()

# Services (PostgreSQL, Redis, RabbitMQ): skip when missing, fail with FLEET_REQUIRE_SERVICES=1.
from fleet_assets_tests.services import postgres_db, require_service  # noqa: E402, F401


@pytest.fixture(scope="module")
def s3_server():
    """A moto S3 server on loopback, one per test module (``s3server.py``)."""
    from fleet_assets_tests.s3server import S3Server

    with S3Server() as server:
        yield server
