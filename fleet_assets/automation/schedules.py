"""Schedules: ``fleet_health_schedule`` refreshes the ``fleet_health`` asset every 15 minutes.

Partition launches are not scheduled by cron: ``fleet_daily_sensor`` (sensors.py) staggers
them per target.
"""

import dagster as dg

from fleet_assets.automation.jobs import fleet_health_job

fleet_health_schedule = dg.ScheduleDefinition(
    name="fleet_health_schedule",
    job=fleet_health_job,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes: recompute fleet_health from the instance's run history.",
)

SCHEDULES = [fleet_health_schedule]
