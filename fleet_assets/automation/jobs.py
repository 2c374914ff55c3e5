"""Jobs over the partitioned assets."""

from __future__ import annotations

import dagster as dg

from fleet_assets.automation.partitions import fleet_partitions

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.assets("raw_pages", "extracted_records", "daily_aggregates"),
    partitions_def=fleet_partitions,
    description="Fetch, extract and aggregate one day of one target.",
)
