"""daily_aggregates: metrics of one partition by SQL, from records Parquet files written here."""

from __future__ import annotations

import io
import json

import dagster as dg
import pyarrow.parquet as pq
import pytest

from fleet_assets.assets.aggregates import daily_aggregates
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.lib import keys, tables
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources import build_resources

DATE, PREVIOUS = "2026-11-10", "2026-11-09"
TARGETS_YAML = """
targets:
  - name: jobs
    urls: ["http://jobs.invalid/{date}/job/1"]
    record:
      id: ref
      fields:
        ref: {css: "span.ref", type: str}
        pay: {css: "span.pay", type: float}
      required: [ref]
"""


def records(date: str, items: dict[str, float | None]) -> bytes:
    rows = [{"natural_key": keys.natural_key(f"http://j/{ref}", date),
             "item_key": keys.item_key("jobs", ref), "target": "jobs", "date": date,
             "url": f"http://j/{ref}", "content_sha256": "0" * 64,
             "data": json.dumps({"ref": ref, "pay": pay})} for ref, pay in items.items()]
    return tables.to_parquet("records", rows)


@pytest.fixture
def store(tmp_path, monkeypatch):
    (tmp_path / "targets.yaml").write_text(TARGETS_YAML)
    monkeypatch.setenv("FLEET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLEET_TARGETS", str(tmp_path / "targets.yaml"))
    monkeypatch.delenv("FLEET_ENV", raising=False)
    return LocalObjectStore(tmp_path / "home")


def materialize(instance=None):
    instance = instance or dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
    return dg.materialize([daily_aggregates], instance=instance, resources=build_resources(),
                          partition_key=partition_key(DATE, "jobs"), raise_on_error=False)


def metrics(store: LocalObjectStore) -> dict[str, float | None]:
    table = pq.read_table(io.BytesIO(store.get(keys.table_key("aggregates", "jobs", DATE))))
    return {r["metric"]: r["value"] for r in table.to_pylist()}


def test_metrics_of_the_day_and_against_the_previous_day(store):
    store.put(keys.table_key("records", "jobs", PREVIOUS), records(PREVIOUS, {"a": 1, "b": 2}))
    store.put(keys.table_key("records", "jobs", DATE), records(DATE, {"b": 10, "c": 20, "d": None}))
    result = materialize()
    assert result.success
    assert metrics(store) == {"records": 3, "distinct_items": 3, "avg_pay": 15.0, "count_pay": 2,
                              "new_items": 2, "delisted_items": 1}
    meta = result.asset_materializations_for_node("daily_aggregates")[0].metadata
    assert meta["has_previous_day"].value is True and meta["new_items"].value == 2


def test_without_a_previous_day_there_is_no_new_or_delisted_count(store):
    store.put(keys.table_key("records", "jobs", DATE), records(DATE, {"a": 1}))
    assert materialize().success
    assert "new_items" not in metrics(store) and "delisted_items" not in metrics(store)


def test_a_rerun_writes_the_same_bytes(store):
    store.put(keys.table_key("records", "jobs", DATE), records(DATE, {"a": 1, "b": 3}))
    assert materialize().success
    first = store.get(keys.table_key("aggregates", "jobs", DATE))
    assert materialize().success
    assert store.get(keys.table_key("aggregates", "jobs", DATE)) == first


def test_missing_records_name_the_step_to_run_first(store):
    result = materialize()
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "materialize extracted_records first" in failure.event_specific_data.error.message
