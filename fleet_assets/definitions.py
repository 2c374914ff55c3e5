"""The code location: assembles assets, jobs and resources; no logic lives here."""

import dagster as dg

from fleet_assets.assets import ALL as ASSETS
from fleet_assets.assets import HEALTH
from fleet_assets.automation import JOBS as AUTOMATION_JOBS
from fleet_assets.automation import SCHEDULES, SENSORS
from fleet_assets.circuit import reset_circuit_job
from fleet_assets.jobs import ingest_job
from fleet_assets.resources import build_resources
from fleet_assets.scaleout import ingest_celery_job

defs = dg.Definitions(
    assets=[*ASSETS, *HEALTH],
    jobs=[ingest_job, ingest_celery_job, reset_circuit_job, *AUTOMATION_JOBS],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=build_resources(),
)
