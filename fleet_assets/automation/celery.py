"""Scale-out: the ingest job on Dagster's Celery executor (``dagster-celery``).

Each step of a run becomes a Celery task on a real broker; workers started with
``dagster-celery worker -A dagster_celery.app -y <config.yaml> -q <queue>`` on any machine
execute them, sharing the instance (PostgreSQL) and the object store (S3). Nothing of the
steps changes: the same assets, resources and failure handling run inside the worker.

Environment (``settings.celery()``, read when the code location loads; the broker URL is passed as an env
reference, so a password in it never reaches the run config shown in the UI):

- ``FLEET_CELERY_BROKER``: broker URL (default ``pyamqp://guest:guest@127.0.0.1:5672//``).
- ``FLEET_CELERY_BACKEND``: result backend (default ``rpc://``; ``redis://...`` with Redis).
- ``FLEET_CELERY_QUEUE``: the queue steps are sent to and workers listen on (``dagster``).
"""

import importlib.util

import dagster as dg

from fleet_assets import settings
from fleet_assets.automation.jobs import NO_RERUN_OF_FAILED_STEPS, ingest_job
from fleet_assets.automation.partitions import fleet_partitions

DEFAULT_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"


def celery_config() -> dict:
    """The executor config (also the worker's ``-y`` YAML: both must agree on broker and queue)."""
    s = settings.celery()
    return {
        "broker": {"env": s.broker} if s.broker else DEFAULT_BROKER,
        "backend": {"env": s.backend} if s.backend else "rpc://",
        "config_source": {"task_default_queue": s.queue},
    }


def build_celery_job(config: dict):
    from dagster_celery import celery_executor  # the `prod` extra; see scaleout_jobs()

    return dg.define_asset_job(
        "ingest_celery",
        selection=ingest_job.selection,
        partitions_def=fleet_partitions,
        executor_def=celery_executor.configured(config, name="fleet_celery"),
        description="The ingest job with every step as a Celery task (see docs/deploy.md).",
        tags={"fleet/executor": "celery", **NO_RERUN_OF_FAILED_STEPS},
    )


def scaleout_jobs() -> list:
    """The Celery job where ``dagster-celery`` is installed (the ``prod`` extra), else none.

    The code location must load with the base install (``pip install -e .``); a machine that
    runs Celery workers has the extra, and so has the webserver that launches onto them.
    """
    if importlib.util.find_spec("dagster_celery") is None:
        return []
    return [build_celery_job(celery_config())]
