"""The partitioned pipeline end to end through Dagster, against the sandbox."""

from __future__ import annotations

import gzip
import json

import dagster as dg
import duckdb

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources import build_resources
from fleet_assets_tests.snapshots import store_snapshot

DATE = "2025-06-10"


def materialize(instance, date, target, selection=None):
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, [target])
    return dg.materialize(
        ALL,
        selection=selection,
        partition_key=partition_key(date, target),
        instance=instance,
        resources=build_resources(),
        raise_on_error=False,
    )


def test_partition_goes_from_pages_to_records_to_aggregates(fleet_env, sandbox):
    with dg.instance_for_test() as instance:
        result = materialize(instance, DATE, "shop")
        assert result.success
    store = LocalObjectStore(fleet_env)
    entries = mf.loads(store.get(keys.manifest_key("shop", DATE)))
    stored = [e for e in entries if e.status == mf.STORED]
    assert stored and len(stored) == len(entries)
    for e in stored:
        assert e.object_key == keys.raw_page_key("shop", DATE, keys.natural_key(e.url, DATE))
        assert len(gzip.decompress(store.get(e.object_key))) == e.bytes
    records = tables.from_parquet(store.get(keys.table_key("records", "shop", DATE)))
    assert sorted(r["natural_key"] for r in records) == sorted(e.natural_key for e in stored)
    assert all(json.loads(r["data"])["price"] > 0 for r in records)

    con = duckdb.connect(str(fleet_env / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM records WHERE target='shop'").fetchone()[0] == len(records)
    assert con.execute("SELECT count(*) FROM records_shop WHERE price > 0").fetchone()[0] == len(records)
    metrics = dict(con.execute(
        "SELECT metric, value FROM aggregates WHERE target='shop' AND date=?", [DATE]).fetchall())
    con.close()
    assert metrics["records"] == len(records)
    assert metrics["avg_price"] > 0


def test_materialization_metadata_proves_the_transition(fleet_env, sandbox):
    with dg.instance_for_test() as instance:
        result = materialize(instance, DATE, "jobs")
        assert result.success
        by_asset = {
            e.event_specific_data.materialization.asset_key.path[-1]:
                e.event_specific_data.materialization.metadata
            for e in result.get_asset_materialization_events()
        }
    raw = by_asset["raw_pages"]
    assert raw["pages"].value == raw["stored"].value > 0
    assert raw["requests"].value >= raw["pages"].value
    assert raw["bytes_stored"].value > 0
    assert by_asset["extracted_records"]["records"].value == raw["stored"].value
    assert by_asset["daily_aggregates"]["records"].value == raw["stored"].value


def test_rematerializing_is_idempotent_and_sends_no_requests(fleet_env, sandbox):
    with dg.instance_for_test() as instance:
        assert materialize(instance, DATE, "news").success
        first = store_snapshot(fleet_env)
        first_manifest = LocalObjectStore(fleet_env).get(keys.manifest_key("news", DATE))
        sandbox.reset_stats()
        assert materialize(instance, DATE, "news").success
        assert sandbox.stats()["total"] == 0
    # a fresh instance: the run history is gone, the store is not
    with dg.instance_for_test() as instance:
        assert materialize(instance, DATE, "news").success
    assert sandbox.stats()["total"] == 0
    assert store_snapshot(fleet_env) == first
    assert LocalObjectStore(fleet_env).get(keys.manifest_key("news", DATE)) == first_manifest


def test_rematerializing_from_scratch_gives_identical_results(tmp_path, monkeypatch, fleet_env):
    homes = []
    for n in range(2):
        home = tmp_path / f"home{n}"
        monkeypatch.setenv("FLEET_HOME", str(home))
        with dg.instance_for_test() as instance:
            assert materialize(instance, DATE, "shop").success
        homes.append(store_snapshot(home))
    assert homes[0] == homes[1]


def test_records_replace_exactly_their_partition(fleet_env, sandbox):
    with dg.instance_for_test() as instance:
        for date in ("2025-06-10", "2025-06-11"):
            assert materialize(instance, date, "jobs").success
        assert materialize(instance, "2025-06-11", "jobs",
                           selection=["extracted_records"]).success
    con = duckdb.connect(str(fleet_env / "warehouse.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT date, count(*), count(DISTINCT natural_key) FROM records GROUP BY date ORDER BY date"
    ).fetchall()
    con.close()
    assert len(rows) == 2
    assert all(n == distinct for _, n, distinct in rows)


def test_day_over_day_aggregates_count_new_and_delisted_items(fleet_env, sandbox):
    with dg.instance_for_test() as instance:
        for date in ("2025-06-10", "2025-06-11"):
            assert materialize(instance, date, "shop", ["raw_pages", "extracted_records"]).success
        for date in ("2025-06-10", "2025-06-11"):
            assert materialize(instance, date, "shop", ["daily_aggregates"]).success
    con = duckdb.connect(str(fleet_env / "warehouse.duckdb"), read_only=True)
    day2 = dict(con.execute(
        "SELECT metric, value FROM aggregates WHERE date='2025-06-11'").fetchall())
    expected_new = con.execute(
        "SELECT count(*) FROM (SELECT item_key FROM records WHERE date='2025-06-11' EXCEPT "
        "SELECT item_key FROM records WHERE date='2025-06-10')").fetchone()[0]
    con.close()
    assert day2["new_items"] == expected_new
    assert "delisted_items" in day2


def test_unknown_target_partition_fails_with_the_fix(fleet_env, sandbox):
    with dg.instance_for_test() as instance:
        result = materialize(instance, DATE, "ghost", ["raw_pages"])
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "add it back to the file" in failure.event_specific_data.error.message
