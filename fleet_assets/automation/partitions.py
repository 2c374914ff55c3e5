"""The fleet's partitioning: one partition per day per target.

Settings: ``FLEET_START_DATE`` (``settings.start_date``, YYYY-MM-DD), the first
partition day. A live site can only be fetched as it is today, so a partition older than
the day the fleet started crawling would hold today's pages under an old date: the start is
the deployment's first day, not an arbitrary epoch. A recent default keeps a new install
from showing ~700 never-materialized days per target in the UI; a deployment sets its own
start once and keeps it (moving it later hides older partitions, it deletes nothing).
"""

from __future__ import annotations

import dagster as dg

from fleet_assets.settings import start_date

TARGETS_PARTITIONS = "targets"
START_DATE = start_date()

date_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE)
target_partitions = dg.DynamicPartitionsDefinition(name=TARGETS_PARTITIONS)
fleet_partitions = dg.MultiPartitionsDefinition(
    {"date": date_partitions, "target": target_partitions}
)


def partition_key(date: str, target: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": date, "target": target})


def split(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[str, str]:
    """(date, target) of the partition being materialized."""
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise ValueError(f"expected a date|target partition, got {key!r}")
    dims = key.keys_by_dimension
    return dims["date"], dims["target"]
