"""Re-materializing unchanged inputs reuses the table; temp files of killed writers are swept."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl import reuse
from fleet_assets.lib.store.local import LocalObjectStore, sweep_partials
from fleet_assets.resources import build_resources

DATE = "2025-06-10"
REPO = Path(__file__).resolve().parents[1]


def _records_metadata(instance, selection=("raw_pages", "extracted_records")):
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
    result = dg.materialize(ALL, selection=list(selection), partition_key=partition_key(DATE, "jobs"),
                            instance=instance, resources=build_resources(), raise_on_error=False)
    assert result.success
    events = [e for e in result.get_asset_materialization_events()
              if e.event_specific_data.materialization.asset_key.path[-1] == "extracted_records"]
    return {k: v.value for k, v in events[0].event_specific_data.materialization.metadata.items()}


def test_unchanged_partition_reuses_records_table_and_replays_its_counts(fleet_env):
    store = LocalObjectStore(fleet_env)
    with dg.instance_for_test() as instance:
        first = _records_metadata(instance)
        table = store.get(keys.table_key("records", "jobs", DATE))
        again = _records_metadata(instance)
    assert first["reused_unchanged"] is False and again["reused_unchanged"] is True
    assert again["records"] == first["records"] == 15
    assert store.get(keys.table_key("records", "jobs", DATE)) == table


def test_changed_rules_or_missing_table_extract_again(fleet_env, monkeypatch, tmp_path):
    store = LocalObjectStore(fleet_env)
    with dg.instance_for_test() as instance:
        _records_metadata(instance)
        store.delete(keys.table_key("records", "jobs", DATE))
        assert _records_metadata(instance, ("extracted_records",))["reused_unchanged"] is False
        assert store.exists(keys.table_key("records", "jobs", DATE))
        doc = yaml.safe_load((REPO / "targets.yaml").read_text())
        jobs = next(t for t in doc["targets"] if t["name"] == "jobs")
        jobs["record"]["required"] = ["job_id", "title"]
        edited = tmp_path / "targets.yaml"
        edited.write_text(yaml.safe_dump(doc))
        monkeypatch.setenv("FLEET_TARGETS", str(edited))
        assert _records_metadata(instance, ("extracted_records",))["reused_unchanged"] is False


def test_fingerprint_changes_with_any_input():
    base = reuse.fingerprint(b"manifest", "rules")
    assert base == reuse.fingerprint(b"manifest", "rules")
    assert base != reuse.fingerprint(b"manifest2", "rules")
    assert base != reuse.fingerprint(b"manifest", "rules2")
    assert reuse.fingerprint(b"ab", "c") != reuse.fingerprint(b"a", "bc")


def test_sweep_removes_temp_files_of_dead_writers_only(tmp_path):
    store = LocalObjectStore(tmp_path)
    store.put("raw/shop/2025-06-10/a.html.gz", b"kept")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    folder = tmp_path / "raw/shop/2025-06-10"
    (folder / f".tmp-{dead}-abc.part").write_bytes(b"half")
    (folder / f".tmp-{os.getpid()}-def.part").write_bytes(b"mid-write")
    (tmp_path / "state/proxies/shop").mkdir(parents=True)
    (tmp_path / f"state/proxies/shop/.tmp-{dead}-x.part").write_bytes(b"{")
    removed = sweep_partials(store, "raw/shop/2025-06-10/", "state/proxies/shop/", "tables/absent/")
    assert removed == [f"raw/shop/2025-06-10/.tmp-{dead}-abc.part", f"state/proxies/shop/.tmp-{dead}-x.part"]
    assert (folder / f".tmp-{os.getpid()}-def.part").exists()
    assert store.get("raw/shop/2025-06-10/a.html.gz") == b"kept"


def test_put_if_absent_objects_are_flushed_before_the_next_put(tmp_path):
    store = LocalObjectStore(tmp_path)
    assert store.put_if_absent("raw/t/2025-06-10/x.html.gz", b"page")
    assert store._unsynced.is_set()
    store.put("raw/t/2025-06-10/_manifest.jsonl", b"{}")
    assert not store._unsynced.is_set()
    assert not list((tmp_path / "raw/t/2025-06-10").glob(".tmp-*"))


# -- integrity: a stored page or table file is trusted only with proof --------------------------
def _materialize(instance, selection):
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
    return dg.materialize(ALL, selection=list(selection), partition_key=partition_key(DATE, "jobs"),
                          instance=instance, resources=build_resources(), raise_on_error=False)


def _failure_text(result) -> str:
    texts = []
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        texts.append(data.user_failure_data.description if data.user_failure_data
                     else data.error.message)
    return " | ".join(texts)


@pytest.mark.parametrize("damage", ["changed", "bit flip"])
def test_a_damaged_stored_page_never_reaches_records_and_is_fetched_again(fleet_env, sandbox,
                                                                         damage):
    store = LocalObjectStore(fleet_env)
    with dg.instance_for_test() as instance:
        assert _materialize(instance, ("raw_pages", "extracted_records")).success
        entry = next(e for e in mf.loads(store.get(keys.manifest_key("jobs", DATE)))
                     if e.status == mf.STORED)
        good = store.get(entry.object_key)
        body = gzip.decompress(good)
        bad = (gzip.compress(body.replace(b"</h1>", b" (forged)</h1>"), mtime=0)
               if damage == "changed" else good[:20] + bytes([good[20] ^ 0x10]) + good[21:])
        store.delete(entry.object_key)
        store.put_if_absent(entry.object_key, bad)
        store.delete(keys.table_key("records", "jobs", DATE))  # the next run must read pages
        failed = _materialize(instance, ("extracted_records",))
        assert not failed.success
        text = _failure_text(failed)
        assert entry.object_key in text and "quarantined" in text and "raw_pages" in text
        assert not store.exists(keys.table_key("records", "jobs", DATE))
        assert list(store.list("quarantine/")) and not store.exists(entry.object_key)
        assert _materialize(instance, ("raw_pages", "extracted_records")).success
    assert gzip.decompress(store.get(entry.object_key)) == body  # fetched again
    rows = {r["natural_key"]: r for r in
            tables.from_parquet(store.get(keys.table_key("records", "jobs", DATE)))}
    assert len(rows) == 15 and b"forged" not in json.dumps(
        [r["data"] for r in rows.values()]).encode()
    assert rows[entry.natural_key]["content_sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("damage", ["truncated", "fewer rows"])
def test_a_damaged_table_file_is_written_again_never_reused(fleet_env, damage):
    store = LocalObjectStore(fleet_env)
    table_key = keys.table_key("records", "jobs", DATE)
    with dg.instance_for_test() as instance:
        first = _records_metadata(instance)
        good = store.get(table_key)
        rows = tables.from_parquet(good)
        store.put(table_key, good[: len(good) // 2] if damage == "truncated"
                  else tables.to_parquet("records", rows[:3]))
        again = _records_metadata(instance, ("extracted_records",))
    assert again["reused_unchanged"] is False and again["records"] == first["records"] == 15
    assert store.get(table_key) == good
    assert tables.parquet_problem(store.get(table_key), "records", 15) is None
