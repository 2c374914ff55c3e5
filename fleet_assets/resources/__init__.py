"""The one place that picks resources for the environment (``FLEET_ENV=local|prod``)."""


import os
from typing import Any

from fleet_assets.lib.home import fleet_home, targets_path, warehouse_path
from fleet_assets.resources.alerts import AlertsResource
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


def build_resources(env: str | None = None) -> dict[str, Any]:
    env = env or current_env()
    store = _store(env)
    return {
        "store": store,
        "targets": TargetsResource(path=str(targets_path())),
        "fetcher": FetcherResource(),
        "warehouse": WarehouseResource(database=str(warehouse_path()), store=store),
        "alerts": AlertsResource(log_path=str(fleet_home() / "alerts.log"), store=store,
                                 slack_channel=os.environ.get("FLEET_SLACK_CHANNEL", "")),
    }


__all__ = ["build_resources", "current_env", "ObjectStoreResource"]
