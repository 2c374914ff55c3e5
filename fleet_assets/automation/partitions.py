"""The fleet's partitioning: one partition per day per target."""

from __future__ import annotations

import dagster as dg

TARGETS_PARTITIONS = "targets"
START_DATE = "2025-01-01"

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
