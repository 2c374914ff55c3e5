"""FLEET_ENV=prod: the pipeline on an S3-compatible server (moto) on loopback, through Dagster."""

from __future__ import annotations

import collections
import gzip
import threading
import time
import uuid

import dagster as dg
import pytest

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.failures import ConfigError
from fleet_assets.resources import build_resources
from fleet_assets.resources.fetcher import FetcherResource
from fleet_assets.resources.s3 import S3StoreResource
from fleet_assets_tests.s3server import ACCESS_KEY, SECRET_KEY, S3Server, s3_client

DATE = "2025-06-10"


@pytest.fixture
def s3(fleet_env, monkeypatch):
    with S3Server() as server:
        bucket = f"fleet-{uuid.uuid4().hex[:12]}"
        s3_client(server).create_bucket(Bucket=bucket)
        for name, value in {
            "FLEET_ENV": "prod", "FLEET_S3_BUCKET": bucket, "FLEET_S3_PREFIX": "fleet/",
            "FLEET_S3_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "FLEET_S3_MAX_ATTEMPTS": "2",
        }.items():
            monkeypatch.setenv(name, value)
        server.reset()
        yield server


def resources():
    return {**build_resources(), "fetcher": FetcherResource(backoff_scale=0.01)}


def materialize(instance, target, selection=None, res=None):
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, [target])
    return dg.materialize(ALL, selection=selection, partition_key=partition_key(DATE, target),
                          instance=instance, resources=res or resources(), raise_on_error=False)


def test_fleet_env_prod_selects_the_s3_store_with_credentials_only_as_env_vars(s3):
    store = build_resources()["store"]
    assert isinstance(store, S3StoreResource)
    assert store.s3.endpoint_url == s3.url and store.prefix == "fleet/"
    assert isinstance(store.s3.aws_secret_access_key, dg.EnvVar)
    assert SECRET_KEY not in repr(store) and SECRET_KEY not in str(store.s3)


def test_fleet_env_prod_without_bucket_names_the_variable(s3, monkeypatch):
    monkeypatch.delenv("FLEET_S3_BUCKET")
    with pytest.raises(ConfigError, match="FLEET_S3_BUCKET"):
        build_resources()


def test_prod_partition_lands_at_documented_keys_and_warehouse_queries_s3(s3, fleet_env):
    with dg.instance_for_test() as instance:
        assert materialize(instance, "shop").success
    res = build_resources()
    store = res["store"].get_store()
    entries = mf.loads(store.get(keys.manifest_key("shop", DATE)))
    stored = [e for e in entries if e.status == mf.STORED]
    assert stored and len(stored) == len(entries)
    listed = set(store.list(f"raw/shop/{DATE}/"))
    for e in stored:
        assert e.object_key == keys.raw_page_key("shop", DATE, e.natural_key)
        assert e.object_key in listed
        assert len(gzip.decompress(store.get(e.object_key))) == e.bytes
    for table in ("records", "aggregates"):
        assert store.exists(keys.table_key(table, "shop", DATE))
    raw = s3_client(s3).list_objects_v2(Bucket=store.bucket)["Contents"]
    assert all(o["Key"].startswith("fleet/") for o in raw)
    assert not (fleet_env / "raw").exists() and not (fleet_env / "tables").exists()

    records = tables.from_parquet(store.get(keys.table_key("records", "shop", DATE)))
    warehouse = res["warehouse"]  # a new reader connection: the views read s3:// paths
    assert warehouse.query("SELECT count(*) FROM records")[0][0] == len(records)
    assert warehouse.query("SELECT count(*) FROM records_shop WHERE price > 0")[0][0] == len(records)
    metrics = dict(warehouse.query("SELECT metric, value FROM aggregates WHERE target='shop'"))
    assert metrics["records"] == len(records)


def test_second_prod_materialization_makes_no_writes(s3):
    with dg.instance_for_test() as instance:
        assert materialize(instance, "jobs").success
        assert len(s3.puts("/raw/jobs/")) > 0
        s3.reset()
        assert materialize(instance, "jobs").success
    assert s3.puts() == []


def test_s3_outage_mid_partition_is_class_a_and_the_partition_completes_without_duplicates(
    s3, sandbox
):
    down, up_again = threading.Event(), threading.Event()

    def stop_on_third_page(method, path, headers):
        page_put = method == "PUT" and "/raw/shop/" in path and path.endswith(".html.gz")
        if page_put and len(s3.puts("/raw/shop/")) >= 3:
            down.set()

    s3.on_request = stop_on_third_page
    port = s3.port

    with dg.instance_for_test() as instance:
        def controller():
            assert down.wait(60)
            s3.stop()
            # back only after Dagster has recorded the step's retry (the outage was seen)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if instance.get_event_records(dg.EventRecordsFilter(
                        event_type=dg.DagsterEventType.STEP_UP_FOR_RETRY), limit=1):
                    break
                time.sleep(0.05)
            s3.port = port
            s3.start()
            up_again.set()

        thread = threading.Thread(target=controller, daemon=True)
        thread.start()
        result = materialize(instance, "shop", selection=["raw_pages", "extracted_records"])
        thread.join(timeout=70)
        assert up_again.is_set() and s3.port == port
        assert result.success
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("retrying (A)" in m for m in logs)
    assert sum(1 for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY") >= 1

    store = build_resources()["store"].get_store()
    entries = mf.loads(store.get(keys.manifest_key("shop", DATE)))
    assert all(e.status == mf.STORED for e in entries)
    # item pages only: the listing pages the walk keeps under _listing/ are not in the manifest
    page_keys = [k for k in store.list(f"raw/shop/{DATE}/")
                 if k.endswith(".html.gz") and "/_listing/" not in k]
    assert sorted(page_keys) == sorted(e.object_key for e in entries)
    written = collections.Counter(p for m, p, status in s3.responses
                                  if m == "PUT" and status == 200 and p.endswith(".html.gz"))
    assert written and max(written.values()) == 1  # no page object was ever written twice
    records = tables.from_parquet(store.get(keys.table_key("records", "shop", DATE)))
    assert sorted(r["natural_key"] for r in records) == sorted(e.natural_key for e in entries)


def test_s3_down_for_the_whole_run_ends_as_class_a_failure_and_loses_nothing(s3, sandbox, monkeypatch):
    monkeypatch.setenv("FLEET_S3_MAX_ATTEMPTS", "1")  # no botocore backoff: each attempt fails fast
    with dg.instance_for_test() as instance:
        assert materialize(instance, "jobs", selection=["raw_pages"]).success
        store = build_resources()["store"].get_store()
        before = {k: store.get(k) for k in store.list("raw/")}
        store.delete(keys.manifest_key("jobs", DATE))  # a run that died before its ledger
        before.pop(keys.manifest_key("jobs", DATE))
        s3.stop()
        try:
            result = materialize(instance, "jobs", selection=["raw_pages"])
        finally:
            s3.start()
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        metadata = failure.event_specific_data.user_failure_data.metadata
        assert metadata["failure_class"].value == "A"
        assert "unreachable" in metadata["store_error"].value
        retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert len(retries) == metadata["attempts"].value - 1 >= 1
        after = {k: store.get(k) for k in store.list("raw/") if not k.endswith("_manifest.jsonl")}
        assert after == before  # every stored page survived, none was rewritten
        sandbox.reset_stats()
        assert materialize(instance, "jobs", selection=["raw_pages"]).success
        assert sandbox.stats()["total"] == 0  # the stored pages were reused, not fetched again
