"""The jobs: ingest runs the partitioned stages of one partition; a failed step is never re-run whole."""

from __future__ import annotations

import os

import dagster as dg
import yaml

from fleet_assets.automation.jobs import JOBS, NO_RERUN_OF_FAILED_STEPS, fleet_health_job, ingest_job
from fleet_assets.automation.partitions import fleet_partitions
from fleet_assets.definitions import defs
from fleet_assets.settings import REPO_ROOT
from fleet_assets_tests.jobs_support import code_location_ingest


def _selected(job) -> set[str]:
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    return {k.to_user_string() for k in job.selection.resolve(assets)}


def test_ingest_selects_the_three_partitioned_stages_over_the_fleet_partitions():
    assert _selected(ingest_job) == {"raw_pages", "extracted_records", "daily_aggregates"}
    assert defs.resolve_job_def("ingest").partitions_def == fleet_partitions


def test_the_health_job_recomputes_only_fleet_health():
    assert _selected(fleet_health_job) == {"fleet_health"}
    assert defs.resolve_job_def(fleet_health_job.name).partitions_def is None
    assert fleet_health_job in JOBS


def test_failed_steps_are_never_rerun_as_whole_runs():
    """Only crashed runs are run-retried: the instance default, the ingest job and backfills agree."""

    for path in ("deploy/dagster.local.yaml", "deploy/dagster.prod.yaml"):
        retries = yaml.safe_load((REPO_ROOT / path).read_text())["run_retries"]
        assert retries["enabled"] and retries["retry_on_asset_or_op_failure"] is False, path
    assert NO_RERUN_OF_FAILED_STEPS == {"dagster/retry_on_asset_or_op_failure": "false"}
    assert ingest_job.tags.items() >= NO_RERUN_OF_FAILED_STEPS.items()


def _run(instance, run_config=None):
    from fleet_assets.automation.partitions import partition_key

    tags = ingest_job.partitions_def.get_tags_for_partition_key(partition_key("2025-06-10", "jobs"))
    result = dg.execute_job(dg.reconstructable(code_location_ingest), instance=instance,
                            tags=dict(tags), run_config=run_config)
    assert result.success
    return {e.dagster_event.pid for e in instance.all_logs(result.run_id)
            if e.is_dagster_event and e.dagster_event.event_type_value == "STEP_START"}


def test_a_partitions_steps_run_in_one_process_unless_the_run_asks_for_one_each(fleet_env, sandbox):
    """A process per step only adds start-up (bench/steps.py); the run config can still ask."""
    from fleet_assets.state.instance import register_targets

    with dg.instance_for_test() as instance:
        register_targets(instance, ["jobs"])
        assert _run(instance) == {os.getpid()}  # in process: the steps ran here
        spread = _run(instance, {"execution": {"config": {"multiprocess": {}}}})
        assert os.getpid() not in spread and len(spread) >= 4  # a process for each step
