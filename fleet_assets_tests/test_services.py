"""FLEET_REQUIRE_SERVICES: a missing service skips a test, or fails it in CI."""

import socket

import pytest

from fleet_assets_tests.services import require_service


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_missing_service_skips_by_default(monkeypatch):
    monkeypatch.delenv("FLEET_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="FLEET_REQUIRE_SERVICES=1"):
        require_service("postgresql", closed_port())


def test_missing_service_fails_when_services_are_required(monkeypatch):
    monkeypatch.setenv("FLEET_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="postgresql is not answering"):
        require_service("postgresql", closed_port())


def test_running_service_passes(monkeypatch):
    monkeypatch.setenv("FLEET_REQUIRE_SERVICES", "1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        require_service("anything", s.getsockname()[1])
