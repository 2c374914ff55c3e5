"""The warehouse views: rewritten only when their definition changes."""

from __future__ import annotations

import subprocess
import sys
import time

from fleet_assets.lib import tables
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources.store import LocalStoreResource
from fleet_assets.resources.warehouse import WarehouseResource

HOLD_READ_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("locked", flush=True)
time.sleep(30)
"""


def _warehouse(tmp_path) -> WarehouseResource:
    store = LocalObjectStore(tmp_path)
    store.put("tables/records/shop/2025-06-10.parquet", tables.to_parquet("records", [
        {"natural_key": "a" * 64, "item_key": "b" * 64, "target": "shop", "date": "2025-06-10",
         "url": "http://x/1", "content_sha256": "c" * 64, "data": "{}"}]))
    return WarehouseResource(database=str(tmp_path / "warehouse.duckdb"),
                             store=LocalStoreResource(root=str(tmp_path)))


def test_unchanged_views_need_no_write_lock(tmp_path):
    warehouse = _warehouse(tmp_path)
    assert warehouse.ensure_views()
    # another process reading the warehouse: a writer could not open the file now
    reader = subprocess.Popen([sys.executable, "-c", HOLD_READ_LOCK, warehouse.database],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "locked"
        started = time.monotonic()
        assert warehouse.ensure_views(timeout_seconds=60)
        assert time.monotonic() - started < 60  # never waited for the lock (a generous bound)
    finally:
        reader.kill()
        reader.wait()
    assert warehouse.query("SELECT count(*) FROM records") == [(1,)]


def test_a_changed_definition_is_rewritten(tmp_path):
    warehouse = _warehouse(tmp_path)
    assert warehouse.ensure_views()
    assert warehouse.query("SELECT count(*) FROM aggregates") == [(0,)]  # no files yet: empty view
    LocalObjectStore(tmp_path).put("tables/aggregates/shop/2025-06-10.parquet", tables.to_parquet(
        "aggregates", [{"target": "shop", "date": "2025-06-10", "metric": "records", "value": 1.0}]))
    assert warehouse.ensure_views()
    assert warehouse.query("SELECT count(*) FROM aggregates") == [(1,)]
