"""Shared helpers for tests that need a running service (PostgreSQL, Redis, RabbitMQ).

``require_service(name, port)``: skips the test when nothing answers on 127.0.0.1:port,
or fails it when ``FLEET_REQUIRE_SERVICES=1`` (CI), so a missing service is never a silent
pass. ``postgres_db``: a uniquely named database on the shared server, dropped afterwards.
"""

from __future__ import annotations

import socket
import uuid

import pytest

from fleet_assets import settings

POSTGRES = ("postgresql", 5432)
REDIS = ("redis", 6379)
RABBITMQ = ("rabbitmq", 5672)


def service_up(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, port: int, host: str = "127.0.0.1") -> None:
    if service_up(port, host):
        return
    message = f"{name} is not answering on {host}:{port}"
    if settings.require_services():
        pytest.fail(f"{message} and FLEET_REQUIRE_SERVICES=1: start it (.ci/services)")
    pytest.skip(f"{message}; set FLEET_REQUIRE_SERVICES=1 to make this a failure")


def _admin():
    import psycopg2

    con = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    con.autocommit = True
    return con


@pytest.fixture
def postgres_db(request):
    """A fresh database named after the test; yields its name and drops it afterwards."""
    require_service(*POSTGRES)
    stem = "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:30]
    name = f"fleet_{stem}_{uuid.uuid4().hex[:8]}"
    con = _admin()
    try:
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield name
        with con.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        con.close()


def postgres_storage(db: str) -> dict:
    """The ``storage:`` section of dagster.yaml for database ``db`` on the local server.

    ``scheme``: SQLAlchemy 2.1 maps plain ``postgresql://`` to psycopg 3, which the pinned
    set does not install; dagster-postgres depends on psycopg2."""
    return {"postgres": {"postgres_db": {
        "hostname": "127.0.0.1", "port": 5432, "username": "postgres", "password": "",
        "db_name": db, "scheme": "postgresql+psycopg2",
    }}}
