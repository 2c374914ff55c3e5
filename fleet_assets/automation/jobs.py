"""Jobs over the partitioned assets."""

from __future__ import annotations

import dagster as dg

from fleet_assets.automation.partitions import fleet_partitions

# Whatever the instance says: a failed step is not retried as a whole run (a crashed run
# still is). Deterministic failures fail the same way again; A/B waits belong to the
# recovery sensor, which knows when they are due.
NO_RERUN_OF_FAILED_STEPS = {"dagster/retry_on_asset_or_op_failure": "false"}

# Dagster's default executor (multiprocess, or in_process by run config) with in_process as
# its default. A partition's steps form one chain (raw_pages -> extracted_records -> the drift
# checks -> daily_aggregates), so a process per step only adds start-up: each step process
# imports Dagster and loads the code location, ~3.4 s of CPU (python -m bench.steps: one
# partition's run with a process per step used 3.4-3.7x the CPU of the same run in process).
# In process, a step waiting for its retry sleeps instead of keeping the run worker busy.
# Runs still get their own process from the run launcher, and `execution: {config:
# {multiprocess: {}}}` in a run's config (`fleet backfill --executor multiprocess`) still
# chooses a process per step.
EXECUTOR = dg.multi_or_in_process_executor.configured(
    lambda config: config,
    name="in_process_or_multiprocess",
    config_schema=dg.Field(
        dg.Selector({"in_process": dg.Permissive(), "multiprocess": dg.Permissive()}),
        default_value={"in_process": {}},
    ),
)

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.assets("raw_pages", "extracted_records", "daily_aggregates"),
    partitions_def=fleet_partitions,
    description="Fetch, extract and aggregate one day of one target.",
    tags=NO_RERUN_OF_FAILED_STEPS,
)

fleet_health_job = dg.define_asset_job("fleet_health_job", selection=["fleet_health"],
                                       description="Recompute the fleet health table.")

JOBS = [fleet_health_job]
