"""The code location: assembles assets, jobs and resources; no logic lives here."""

import dagster as dg

from fleet_assets.assets import ALL as ASSETS
from fleet_assets.assets import HEALTH
from fleet_assets.assets.health import target_history_specs
from fleet_assets.automation.celery import scaleout_jobs
from fleet_assets.automation.jobs import EXECUTOR, ingest_job
from fleet_assets.automation.jobs import JOBS as AUTOMATION_JOBS
from fleet_assets.automation.schedules import SCHEDULES
from fleet_assets.automation.sensors import SENSORS
from fleet_assets.resources import build_resources
from fleet_assets.state.circuit import reset_circuit_job

defs = dg.Definitions(
    assets=[*ASSETS, *HEALTH, *target_history_specs()],
    jobs=[ingest_job, *scaleout_jobs(), reset_circuit_job, *AUTOMATION_JOBS],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=build_resources(),
    executor=EXECUTOR,
)
