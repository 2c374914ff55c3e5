"""The health schedule: fleet_health every 15 minutes, running from the start."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from fleet_assets.automation.schedules import SCHEDULES, fleet_health_schedule
from fleet_assets.definitions import defs


def test_fleet_health_is_refreshed_every_quarter_hour_and_runs_by_default():
    assert fleet_health_schedule.job_name == "fleet_health_job"
    assert fleet_health_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert defs.resolve_schedule_def("fleet_health_schedule") is not None
    assert [fleet_health_schedule] == SCHEDULES


def test_a_tick_requests_one_run_of_the_health_job():
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2025, 6, 10, 10, 15, tzinfo=dt.UTC))
    (request,) = fleet_health_schedule.evaluate_tick(context).run_requests
    assert fleet_health_schedule.cron_schedule == "*/15 * * * *"
    assert request.partition_key is None
