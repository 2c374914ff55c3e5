"""Shared fixtures for fleet_assets tests."""

from __future__ import annotations

import pytest

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


# Services (PostgreSQL, Redis, RabbitMQ): skip when missing, fail with FLEET_REQUIRE_SERVICES=1.
from fleet_assets_tests.services import postgres_db, require_service  # noqa: E402, F401
