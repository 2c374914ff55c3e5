"""The one place that picks resources for the environment (``FLEET_ENV=local|prod``).

Reads ``FLEET_ENV``, ``FLEET_SLACK_CHANNEL`` and, for the per-host budget,
``FLEET_BUDGET_POSTGRES_URL`` (prod), ``FLEET_BUDGET_MAX_WAIT`` (seconds a request waits for
budget before its page is deferred, default 15), ``FLEET_BUDGET_BACKOFF_BASE`` /
``FLEET_BUDGET_BACKOFF_CAP`` (the fleet-wide backoff of a failing host, default 1 / 60 s),
``FLEET_BUDGET_TRIP_AFTER`` (host failures in a row that close it, default 5).
"""


import os
from typing import Any

import dagster as dg

from fleet_assets.lib.home import fleet_home, targets_path, warehouse_path
from fleet_assets.resources.alerts import AlertsResource
from fleet_assets.resources.budget import HostBudgetResource
from fleet_assets.resources.fetcher import FetcherResource
from fleet_assets.resources.store import LocalStoreResource, ObjectStoreResource
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.resources.warehouse import WarehouseResource

ENVIRONMENTS = ("local", "prod")


def current_env() -> str:
    env = os.environ.get("FLEET_ENV", "local")
    if env not in ENVIRONMENTS:
        raise ValueError(f"FLEET_ENV={env!r} is not one of {ENVIRONMENTS}; unset it or pick one")
    return env


def _store(env: str) -> ObjectStoreResource:
    if env == "prod":
        from fleet_assets.resources.s3 import prod_store

        return prod_store()
    return LocalStoreResource(root=str(fleet_home()))


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds; unset it or fix it") from None


def _budget(env: str) -> HostBudgetResource:
    tuning = {
        "max_wait_seconds": _float_env("FLEET_BUDGET_MAX_WAIT", 15.0),
        "backoff_base_seconds": _float_env("FLEET_BUDGET_BACKOFF_BASE", 1.0),
        "backoff_cap_seconds": _float_env("FLEET_BUDGET_BACKOFF_CAP", 60.0),
        "trip_after_failures": int(_float_env("FLEET_BUDGET_TRIP_AFTER", 5)),
    }
    if env == "prod":
        # Many machines share one schedule per host: it lives in PostgreSQL.
        return HostBudgetResource(backend="postgres",
                                  postgres_url=dg.EnvVar("FLEET_BUDGET_POSTGRES_URL"), **tuning)
    return HostBudgetResource(backend="local", root=str(fleet_home() / "state" / "budget"),
                              **tuning)


def build_resources(env: str | None = None) -> dict[str, Any]:
    env = env or current_env()
    store = _store(env)
    return {
        "store": store,
        "targets": TargetsResource(path=str(targets_path())),
        "fetcher": FetcherResource(),
        "budget": _budget(env),
        "warehouse": WarehouseResource(database=str(warehouse_path()), store=store),
        "alerts": AlertsResource(log_path=str(fleet_home() / "alerts.log"), store=store,
                                 slack_channel=os.environ.get("FLEET_SLACK_CHANNEL", "")),
    }


__all__ = ["build_resources", "current_env", "ObjectStoreResource"]
