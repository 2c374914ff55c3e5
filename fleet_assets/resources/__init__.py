"""The one place that picks resources for the environment (``FLEET_ENV=local|prod``).

Settings (``fleet_assets/settings.py``): ``FLEET_ENV``, ``FLEET_HOME``, ``FLEET_TARGETS``,
``FLEET_SLACK_CHANNEL``; in prod also the ``FLEET_S3_*`` variables (``resources/s3.py``).
"""

from typing import Any

from fleet_assets import settings
from fleet_assets.resources.alerts import AlertsResource
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


def build_resources(env: str | None = None) -> dict[str, Any]:
    env = env or current_env()
    store = _store(env)
    return {
        "store": store,
        "targets": TargetsResource(path=str(settings.targets_path())),
        "fetcher": FetcherResource(),
        "warehouse": WarehouseResource(database=str(settings.warehouse_path()), store=store),
        "alerts": AlertsResource(log_path=str(settings.fleet_home() / "alerts.log"), store=store,
                                 slack_channel=settings.slack_channel()),
    }


__all__ = ["build_resources", "current_env", "ObjectStoreResource"]
