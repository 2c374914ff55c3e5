"""The fleet's partitioning: one partition per day per target.

Settings: ``FLEET_START_DATE`` (YYYY-MM-DD, default ``DEFAULT_START_DATE``), the first
partition day. A live site can only be fetched as it is today, so a partition older than
the day the fleet started crawling would hold today's pages under an old date: the start is
the deployment's first day, not an arbitrary epoch. A recent default keeps a new install
from showing ~700 never-materialized days per target in the UI; a deployment sets its own
start once and keeps it (moving it later hides older partitions, it deletes nothing).
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

TARGETS_PARTITIONS = "targets"
DEFAULT_START_DATE = "2026-11-01"


def start_date() -> str:
    """The first partition day: ``FLEET_START_DATE`` or the default, validated."""
    raw = os.environ.get("FLEET_START_DATE", "").strip() or DEFAULT_START_DATE
    try:
        dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"FLEET_START_DATE={raw!r} is not a date; write it as YYYY-MM-DD "
                         "(the first day the fleet crawls) or unset it") from None
    return raw


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
