"""``extracted_records``: parse a partition's stored pages into typed records.

Grain: one record per stored item page per target per day, primary key ``natural_key``
(sha256 of URL and date). The partition's Parquet file is replaced whole, so a re-run
replaces exactly that partition's records and nothing else.
"""


import time

import dagster as dg

from fleet_assets.assets.meta import OWNERS, table_metadata, tags
from fleet_assets.automation.partitions import fleet_partitions, split
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl import reuse
from fleet_assets.lib.records import extract_partition, extract_threads
from fleet_assets.lib.store.base import ObjectMissing
from fleet_assets.lib.store.integrity import read_page
from fleet_assets.lib.store.local import LocalObjectStore, sweep_partials
from fleet_assets.resources.store import STORE_OUTAGE_RETRY, ObjectStoreResource
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.resources.warehouse import WarehouseResource
from fleet_assets.state import history
from fleet_assets.state.circuit import guard


@dg.asset(
    partitions_def=fleet_partitions,
    retry_policy=STORE_OUTAGE_RETRY,
    group_name="ingest",
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    tags=tags("ingest", "parquet"),
    metadata=table_metadata("records"),
    deps=["raw_pages"],
)
def extracted_records(
    context: dg.AssetExecutionContext,
    targets: TargetsResource,
    store: ObjectStoreResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """One record per stored item page per target per day (primary key: natural_key)."""
    with history.AttemptReport(context) as report:
        return report.done(_extract_partition(context, targets, store, warehouse))


def _extract_partition(
    context: dg.AssetExecutionContext,
    targets: TargetsResource,
    store: ObjectStoreResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    guard(context)
    started = time.monotonic()
    date, name = split(context)
    configured = targets.load()  # targets.yaml is read once per step
    target = targets.get(name, configured)
    object_store = store.get_store()
    sweep_partials(object_store, f"tables/records/{name}/", f"state/records/{name}/")
    try:
        manifest = object_store.get(keys.manifest_key(name, date))
    except ObjectMissing:
        raise dg.Failure(
            description=f"no manifest for {name} {date}: materialize raw_pages for this "
            "partition first",
            allow_retries=False,
        ) from None
    # Same pages, same rules, same code: the table already holds what this run would write.
    fp = reuse.fingerprint(manifest, repr(target.record),
                           code=("fleet_assets.lib.extract", "fleet_assets.lib.records"))
    previous = reuse.unchanged(object_store, "records", name, date, fp)
    if previous is not None:
        warehouse.ensure_views(configured.values())
        return dg.MaterializeResult(metadata={
            **previous, "reused_unchanged": True,
            "dagster/row_count": int(previous.get("records", 0)),
            "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
        })
    entries = mf.loads(manifest)
    extracted = extract_partition(
        entries, lambda e: read_page(object_store, e.object_key or "", e.content_sha256),
        target.record, name, date,
        threads=extract_threads(entries, remote_store=not isinstance(object_store, LocalObjectStore)))
    rows, report, corrupt = extracted.rows, extracted.report, extracted.corrupt
    if corrupt:
        raise dg.Failure(
            description=f"{len(corrupt)} stored page(s) of {name} {date} failed verification "
            f"and were quarantined (first: {corrupt[0]}); materialize raw_pages for this "
            "partition again to fetch them, then extracted_records",
            metadata={"corrupt_objects": dg.MetadataValue.json([c.key for c in corrupt][:20]),
                      "quarantined": dg.MetadataValue.json(
                          [c.quarantine_key for c in corrupt][:20])},
            allow_retries=False,
        )
    data = tables.to_parquet("records", rows)
    table_key = keys.table_key("records", name, date)
    object_store.put(table_key, data)
    warehouse.ensure_views(configured.values())
    metadata = {
        "records": report.records,
        "pages_parsed": report.pages_parsed,
        "pages_without_required_fields": report.pages_without_required_fields,
        "outcome_C": report.pages_without_required_fields,
        **({} if report.coverage is None else
           {"required_field_coverage": dg.MetadataValue.float(round(report.coverage, 4))}),
        "pages_with_no_fields": report.pages_with_no_fields,
        "report": dg.MetadataValue.json(report.to_json()),  # what the drift checks judge
        "table_key": table_key,
        "parquet_bytes": len(data),
        "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
    }
    reuse.record(object_store, "records", name, date, fp, metadata, rows=len(rows))
    return dg.MaterializeResult(metadata={**metadata, "reused_unchanged": False,
                                          "dagster/row_count": len(rows)})
