"""The one place that picks resources for the environment (``FLEET_ENV=local|prod``).

Settings (``fleet_assets/settings.py``): ``FLEET_ENV``, ``FLEET_HOME``, ``FLEET_TARGETS``,
``FLEET_SLACK_CHANNEL``, ``FLEET_BUDGET_*`` (the per-host budget); in prod also the
``FLEET_S3_*`` variables (``resources/s3.py``) and ``FLEET_BUDGET_POSTGRES_URL``.
"""

from dataclasses import asdict
from typing import Any

import dagster as dg

from fleet_assets import settings
from fleet_assets.resources.alerts import AlertsResource
from fleet_assets.resources.budget import HostBudgetResource
from fleet_assets.resources.fetcher import FetcherResource
from fleet_assets.resources.store import LocalStoreResource, ObjectStoreResource
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.resources.warehouse import WarehouseResource

ENVIRONMENTS = settings.ENVIRONMENTS
current_env = settings.fleet_env


def _store(env: str) -> ObjectStoreResource:
    if env == "prod":
        from fleet_assets.resources.s3 import prod_store

        return prod_store()
    return LocalStoreResource(root=str(settings.fleet_home()))


def _budget(env: str) -> HostBudgetResource:
    tuning = asdict(settings.budget())
    if env == "prod" and settings.is_set("FLEET_BUDGET_POSTGRES_URL"):
        # Many machines share one schedule per host: it lives in PostgreSQL.
        return HostBudgetResource(backend="postgres",
                                  postgres_url=dg.EnvVar("FLEET_BUDGET_POSTGRES_URL"), **tuning)
    # One machine (or prod without the DSN): every process here shares files under FLEET_HOME.
    return HostBudgetResource(backend="local", root=str(settings.fleet_home() / "state" / "budget"),
                              **tuning)


def build_resources(env: str | None = None) -> dict[str, Any]:
    env = env or current_env()
    store = _store(env)
    return {
        "store": store,
        "targets": TargetsResource(path=str(settings.targets_path())),
        "fetcher": FetcherResource(),
        "budget": _budget(env),
        "warehouse": WarehouseResource(database=str(settings.warehouse_path()), store=store),
        "alerts": AlertsResource(log_path=str(settings.fleet_home() / "alerts.log"), store=store,
                                 slack_channel=settings.slack_channel()),
    }


__all__ = ["build_resources", "current_env", "ObjectStoreResource"]
