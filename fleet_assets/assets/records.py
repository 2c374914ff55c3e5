"""``extracted_records``: parse a partition's stored pages into typed records.

Grain: one record per stored item page per target per day, primary key ``natural_key``
(sha256 of URL and date). The partition's Parquet file is replaced whole, so a re-run
replaces exactly that partition's records and nothing else.
"""


import json
import time
from collections import Counter

import dagster as dg

from fleet_assets.assets.meta import OWNERS, table_metadata, tags
from fleet_assets.automation.partitions import fleet_partitions, split
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl import reuse
from fleet_assets.lib.extract import extract_record
from fleet_assets.lib.store.base import CorruptObject, ObjectMissing
from fleet_assets.lib.store.integrity import read_page
from fleet_assets.lib.store.local import sweep_partials
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
@history.reports_attempts
def extracted_records(
    context: dg.AssetExecutionContext,
    targets: TargetsResource,
    store: ObjectStoreResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """One record per stored item page per target per day (primary key: natural_key)."""
    guard(context)
    started = time.monotonic()
    date, name = split(context)
    target = targets.get(name)
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
    fp = reuse.fingerprint(manifest, repr(target.record))
    previous = reuse.unchanged(object_store, "records", name, date, fp)
    if previous is not None:
        warehouse.ensure_views(targets.load().values())
        return dg.MaterializeResult(metadata={
            **previous, "reused_unchanged": True,
            "dagster/row_count": int(previous.get("records", 0)),
            "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
        })
    entries = mf.loads(manifest)
    rows = []
    missing_fields: Counter[str] = Counter()
    drifted_urls: list[str] = []
    fields_found: Counter[str] = Counter({f: 0 for f in target.record.field_names})
    pages_with_no_fields = 0
    stored = [e for e in entries if e.status == mf.STORED]
    corrupt: list[CorruptObject] = []
    for entry in stored:
        try:
            body = read_page(object_store, entry.object_key or "", entry.content_sha256)
        except CorruptObject as exc:  # quarantined; never parsed under the manifest's hash
            corrupt.append(exc)
            continue
        extraction = extract_record(body, target.record, entry.final_url or entry.url,
                                    entry.content_type)
        fields_found.update(extraction.found)
        pages_with_no_fields += not extraction.found
        if not extraction.complete:
            missing_fields.update(extraction.missing_required)
            drifted_urls.append(entry.url)
            continue
        identity = extraction.values.get(target.record.id_field) if target.record.id_field else None
        if identity is None:  # the URL names the item on every day: its date becomes {date}
            identity = keys.url_identity(entry.url, date)
        rows.append({
            "natural_key": entry.natural_key,
            "item_key": keys.item_key(name, str(identity)),
            "target": name,
            "date": date,
            "url": entry.url,
            "content_sha256": entry.content_sha256,
            "data": json.dumps(extraction.values, sort_keys=True, ensure_ascii=False),
        })
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
    warehouse.ensure_views(targets.load().values())
    coverage = len(rows) / len(stored) if stored else 1.0
    metadata = {
            "records": len(rows),
            "pages_parsed": len(stored),
            "pages_without_required_fields": len(drifted_urls),
            "outcome_C": len(drifted_urls),
            "required_field_coverage": dg.MetadataValue.float(round(coverage, 4)),
            "missing_required_fields": dg.MetadataValue.json(dict(sorted(missing_fields.items()))),
            "sample_drifted_urls": dg.MetadataValue.json(sorted(drifted_urls)[:5]),
            "fields_found": dg.MetadataValue.json(dict(fields_found)),
            "pages_with_no_fields": pages_with_no_fields,
            "table_key": table_key,
            "parquet_bytes": len(data),
            "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
    }
    reuse.record(object_store, "records", name, date, fp, metadata, rows=len(rows))
    return dg.MaterializeResult(metadata={**metadata, "reused_unchanged": False,
                                          "dagster/row_count": len(rows)})
