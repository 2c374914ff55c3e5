"""``daily_aggregates``: roll a partition's records up into metrics, by SQL.

Grain: one row per metric per target per day. Every value is derived from ``records`` (and
the previous day's records for new/delisted items), never incremented, so a re-run writes
the same rows. New/delisted counts are absent when the previous day has no records yet.
"""


import datetime as dt
import time

import dagster as dg
import duckdb

from fleet_assets.assets.meta import OWNERS, table_metadata, tags
from fleet_assets.automation.partitions import fleet_partitions, split
from fleet_assets.lib import keys, tables
from fleet_assets.resources.store import STORE_OUTAGE_RETRY, ObjectStoreResource
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.resources.warehouse import WarehouseResource
from fleet_assets.state.circuit import guard


@dg.asset(
    partitions_def=fleet_partitions,
    retry_policy=STORE_OUTAGE_RETRY,
    group_name="aggregate",
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    tags=tags("aggregate", "parquet"),
    metadata=table_metadata("aggregates"),
    # Same partition only: a d-1 edge would make every backfill of [a, b] also target
    # daily_aggregates for b+1, whose records do not exist. The previous day is read when present.
    deps=["extracted_records"],
)
def daily_aggregates(
    context: dg.AssetExecutionContext,
    targets: TargetsResource,
    store: ObjectStoreResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """One row per metric per target per day, derived from that day's records."""
    guard(context, upstream_checks=True)  # never aggregate drifted records
    started = time.monotonic()
    date, name = split(context)
    configured = targets.load()  # targets.yaml is read once per step
    target = targets.get(name, configured)
    object_store = store.get_store()
    today_key = keys.table_key("records", name, date)
    if not object_store.exists(today_key):
        raise dg.Failure(
            description=f"no records for {name} {date}: materialize extracted_records first",
            allow_retries=False,
        )
    previous = (dt.date.fromisoformat(date) - dt.timedelta(days=1)).isoformat()
    prev_key = keys.table_key("records", name, previous)
    has_previous = object_store.exists(prev_key)
    numeric = [f.name for f in target.record.fields if f.type in ("int", "float")]

    con = duckdb.connect()
    try:
        store.configure_duckdb(con)
        con.execute(
            f"CREATE TEMP VIEW today AS SELECT * FROM read_parquet('{object_store.uri(today_key)}')"
        )
        metrics: dict[str, float | None] = {
            "records": con.execute("SELECT count(*) FROM today").fetchone()[0],
            "distinct_items": con.execute(
                "SELECT count(DISTINCT item_key) FROM today").fetchone()[0],
        }
        for field in numeric:
            avg = con.execute(
                f"SELECT avg(TRY_CAST(data->>'{field}' AS DOUBLE)), "
                f"count(TRY_CAST(data->>'{field}' AS DOUBLE)) FROM today"
            ).fetchone()
            metrics[f"avg_{field}"] = avg[0]
            metrics[f"count_{field}"] = avg[1]
        if has_previous:
            con.execute(
                "CREATE TEMP VIEW yesterday AS SELECT * FROM "
                f"read_parquet('{object_store.uri(prev_key)}')"
            )
            metrics["new_items"] = con.execute(
                "SELECT count(*) FROM (SELECT item_key FROM today EXCEPT "
                "SELECT item_key FROM yesterday)").fetchone()[0]
            metrics["delisted_items"] = con.execute(
                "SELECT count(*) FROM (SELECT item_key FROM yesterday EXCEPT "
                "SELECT item_key FROM today)").fetchone()[0]
        tomb_key = keys.table_key("tombstones", name, date)
        if object_store.exists(tomb_key):
            metrics["tombstones"] = con.execute(
                f"SELECT count(*) FROM read_parquet('{object_store.uri(tomb_key)}')"
            ).fetchone()[0]
    finally:
        con.close()

    rows = [
        {"target": name, "date": date, "metric": m, "value": None if v is None else float(v)}
        for m, v in metrics.items()
    ]
    table_key = keys.table_key("aggregates", name, date)
    object_store.put(table_key, tables.to_parquet("aggregates", rows))
    warehouse.ensure_views(configured.values())
    return dg.MaterializeResult(
        metadata={
            **{m: dg.MetadataValue.float(float(v)) for m, v in metrics.items() if v is not None},
            "dagster/row_count": len(rows),
            "has_previous_day": has_previous,
            "table_key": table_key,
            "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
        }
    )
