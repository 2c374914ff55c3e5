"""Jobs over the partitioned assets."""

from __future__ import annotations

import dagster as dg

from fleet_assets.automation.partitions import fleet_partitions

# Whatever the instance says: a failed step is not retried as a whole run (a crashed run
# still is). Deterministic failures fail the same way again; A/B waits belong to the
# recovery sensor, which knows when they are due.
NO_RERUN_OF_FAILED_STEPS = {"dagster/retry_on_asset_or_op_failure": "false"}

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
