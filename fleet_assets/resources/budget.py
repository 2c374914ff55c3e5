"""The fleet's per-host request budget as a resource: local files or PostgreSQL.

Every step that requests a target asks this budget first (``lib/crawl/budget.py``), so
concurrency, rate and backoff per host hold across runs, processes and machines, however the
run was launched (daemon, backfill, sensor, ``fleet demo``, Celery workers).

Settings: ``backend`` (``local``: a ``flock``-ed file per host under ``root``, for every
process on one machine; ``postgres``: a row per host in ``postgres_url``'s database, for a
fleet of machines), ``root``, ``postgres_url`` (only as ``dg.EnvVar``: it may hold a
password), ``max_wait_seconds`` (a request waits at most this long for budget, then its page
is deferred with a ``due_at``), ``poll_seconds``, and the shared host backoff:
``trip_after_failures``, ``backoff_base_seconds``, ``backoff_cap_seconds``.
"""

from __future__ import annotations

import json
import threading
from typing import TypeVar

import dagster as dg

from fleet_assets.lib.crawl.budget import HostBudget, LocalBudget, Transition
from fleet_assets.lib.crawl.ratelimit import Backoff, HostState

T = TypeVar("T")

# One budget object per process and setting: its file handles and connections are reused by
# every step the process runs.
_CACHE: dict[tuple, HostBudget] = {}
_CACHE_LOCK = threading.Lock()

_DDL = """CREATE TABLE IF NOT EXISTS fleet_host_budget (
    host text PRIMARY KEY,
    state jsonb NOT NULL DEFAULT '{}'::jsonb
)"""
# ``CREATE TABLE IF NOT EXISTS`` is not safe against itself: two workers starting together
# on a fresh database can both pass the check and one fails on the catalog's unique index
# (UniqueViolation on pg_type_typname_nsp_index, seen with 3 processes at once). The
# creation holds this transaction-scoped advisory lock (an arbitrary constant: "fleetbud").
_DDL_LOCK = 0x666C656574627564


class PostgresBudget(HostBudget):
    """One row per host, changed in a transaction holding that row's lock (``FOR UPDATE``).

    Time is the database's clock, so machines with skewed clocks still share one schedule;
    a crashed worker's row lock ends with its connection and its leases expire by time.
    """

    def __init__(self, dsn: str, **kwargs) -> None:
        super().__init__(**kwargs)
        import psycopg2

        self._connect = lambda: psycopg2.connect(dsn)
        self._local = threading.local()
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            cur.execute(_DDL)

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self._connect()
        return conn

    def _transact(self, host: str, fn: Transition[T]) -> T:
        conn = self._connection()
        with conn, conn.cursor() as cur:  # commits, or rolls back on error
            cur.execute("INSERT INTO fleet_host_budget (host) VALUES (%s) ON CONFLICT DO NOTHING",
                        (host,))
            cur.execute("SELECT state, extract(epoch FROM clock_timestamp())::float8 "
                        "FROM fleet_host_budget WHERE host = %s FOR UPDATE", (host,))
            doc, now = cur.fetchone()
            before = HostState.from_json(doc)
            state, value = fn(before, float(now))
            if state != before:
                cur.execute("UPDATE fleet_host_budget SET state = %s WHERE host = %s",
                            (json.dumps(state.to_json()), host))
        return value

    def close(self) -> None:
        self.flush()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()


class HostBudgetResource(dg.ConfigurableResource):
    """Where the fleet keeps each host's shared request budget, and its backoff settings."""

    backend: str = "local"
    root: str = ".fleet/state/budget"
    postgres_url: str = ""
    max_wait_seconds: float = 15.0
    poll_seconds: float = 0.05
    trip_after_failures: int = 5
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0

    def get_budget(self) -> HostBudget:
        key = (self.backend, self.root, self.postgres_url, self.max_wait_seconds,
               self.poll_seconds, self.trip_after_failures, self.backoff_base_seconds,
               self.backoff_cap_seconds)
        with _CACHE_LOCK:
            budget = _CACHE.get(key)
            if budget is None:
                budget = _CACHE[key] = self._build()
            return budget

    def _build(self) -> HostBudget:
        try:
            settings = {
                "backoff": Backoff(self.trip_after_failures, self.backoff_base_seconds,
                                   self.backoff_cap_seconds),
                "max_wait": self.max_wait_seconds, "poll": self.poll_seconds,
            }
            if self.backend == "local":
                return LocalBudget(self.root, **settings)
        except ValueError as exc:
            raise dg.Failure(description=f"budget resource: {exc}", allow_retries=False) from None
        if self.backend == "postgres":
            if not self.postgres_url:
                raise dg.Failure(description="budget.backend=postgres needs postgres_url "
                                 "(set FLEET_BUDGET_POSTGRES_URL)", allow_retries=False)
            return PostgresBudget(self.postgres_url, **settings)
        raise dg.Failure(description=f"budget.backend={self.backend!r}: use 'local' or 'postgres'",
                         allow_retries=False)


__all__ = ["HostBudgetResource", "PostgresBudget"]
