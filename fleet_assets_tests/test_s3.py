"""S3ObjectStore against a real S3-compatible server (moto) on loopback.

The behaviour every store shares is in contract/test_stores.py; here what only S3 does:
conditional PUTs (412, 409), prefixes, pagination, unchanged bytes not rewritten, errors.
"""

from __future__ import annotations

import gzip
import hashlib

import pytest

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.store.base import CorruptObject, StoreError
from fleet_assets.lib.store.integrity import read_page
from fleet_assets.lib.store.s3 import S3ObjectStore, StoreConfigError
from fleet_assets.lib.store.scan import scan
from fleet_assets_tests.s3server import S3Server, fresh_s3_store, s3_client
from fleet_assets_tests.together import run_together


@pytest.fixture
def store(s3_server):
    store = fresh_s3_store(s3_server)
    s3_server.reset()
    return store


def test_put_if_absent_writes_once_and_412_means_already_there(store, s3_server):
    assert store.put_if_absent("raw/shop/2025-06-10/a.html.gz", b"one") is True
    assert store.put_if_absent("raw/shop/2025-06-10/a.html.gz", b"two") is False
    assert store.get("raw/shop/2025-06-10/a.html.gz") == b"one"
    puts = s3_server.puts("/raw/shop/")
    assert len(puts) == 2
    assert all(h.get("if-none-match") == "*" for _, h in puts)


def test_keys_land_under_the_prefix_and_uri_names_them(store):
    store.put("tables/records/shop/2025-06-10.parquet", b"x")
    raw = store.client.list_objects_v2(Bucket=store.bucket)["Contents"]
    assert [o["Key"] for o in raw] == ["fleet/tables/records/shop/2025-06-10.parquet"]
    assert store.uri("tables/records/shop/2025-06-10.parquet") == (
        f"s3://{store.bucket}/fleet/tables/records/shop/2025-06-10.parquet")


def test_concurrent_writers_each_send_a_conditional_put_and_the_server_decides(store, s3_server):
    won = run_together(12, lambda i: store.put_if_absent("raw/k", f"writer {i}".encode()))
    assert won.count(True) == 1
    # every writer really sent its conditional PUT: the server's condition decided, not a pre-check
    assert len(s3_server.puts("/raw/k")) == 12


def test_409_conflict_with_the_object_now_present_means_another_writer_won(store, s3_server):
    store.put_if_absent("raw/c", b"winner")
    s3_server.inject("PUT", "/raw/c", 409, "ConditionalRequestConflict")
    assert store.put_if_absent("raw/c", b"loser") is False
    assert store.get("raw/c") == b"winner"


def test_409_conflict_with_the_object_still_absent_is_written_again(store, s3_server):
    s3_server.inject("PUT", "/raw/d", 409, "ConditionalRequestConflict", times=2)
    assert store.put_if_absent("raw/d", b"mine") is True
    assert store.get("raw/d") == b"mine"
    assert [s for m, p, s in s3_server.responses if m == "PUT" and p.endswith("/raw/d")] == [409, 409, 200]


def test_server_errors_after_botocore_retries_are_a_store_error(store, s3_server):
    s3_server.inject("GET", "/raw/e", 503, "SlowDown", times=10)
    with pytest.raises(StoreError, match="SlowDown|503"):
        store.get("raw/e")


def test_put_replaces_and_identical_bytes_are_not_rewritten(store, s3_server):
    store.put("tables/t.parquet", b"old")
    store.put("tables/t.parquet", b"new")
    assert store.get("tables/t.parquet") == b"new"
    before = len(s3_server.puts())
    store.put("tables/t.parquet", b"new")
    assert len(s3_server.puts()) == before


def test_list_is_paginated_sorted_and_scoped(store, s3_server):
    keys = [f"raw/t/{i:02d}" for i in (7, 3, 12, 0, 5, 9, 1)] + ["tables/z"]
    for k in keys:
        store.put(k, b"")
    paged = S3ObjectStore(client=store.client, bucket=store.bucket, prefix="fleet/", list_page_size=3)
    s3_server.reset()
    assert list(paged.list("raw/")) == sorted(keys[:-1])
    assert sum(1 for m, p, _ in s3_server.requests if m == "GET") == 3  # 7 keys, 3 per page
    assert list(paged.list("nothing/")) == []


def test_unreachable_endpoint_raises_store_error(s3_server):
    dead = S3Server().start()
    client = s3_client(dead, max_attempts=1)
    dead.stop()
    store = S3ObjectStore(client=client, bucket="fleet-dead")
    for op in (lambda: store.get("raw/x"), lambda: store.put_if_absent("raw/x", b""),
               lambda: store.exists("raw/x"), lambda: list(store.list("raw/")),
               lambda: store.put("raw/x", b"")):
        with pytest.raises(StoreError, match="unreachable"):
            op()


def test_missing_bucket_is_a_config_error_naming_the_setting(s3_server):
    store = S3ObjectStore(client=s3_client(s3_server), bucket="no-such-bucket-here")
    with pytest.raises(StoreConfigError, match="FLEET_S3_BUCKET"):
        store.put("raw/x", b"1")


@pytest.mark.parametrize("bucket,prefix", [("ab", ""), ("fleet", "noslash"), ("fleet", "/abs/")])
def test_bad_bucket_or_prefix_is_rejected(s3_server, bucket, prefix):
    with pytest.raises(ConfigError):
        S3ObjectStore(client=s3_client(s3_server), bucket=bucket, prefix=prefix)


def test_a_bucket_is_verified_and_repaired_like_a_home(store):
    body = b"<h1>kept</h1>"
    nk = keys.natural_key("http://h/1", "2025-06-10")
    key = keys.raw_page_key("shop", "2025-06-10", nk)
    entry = mf.ManifestEntry(url="http://h/1", natural_key=nk,
                             status=mf.STORED, object_key=key,
                             content_sha256=hashlib.sha256(body).hexdigest())
    store.put(keys.manifest_key("shop", "2025-06-10"), mf.dumps([entry]))
    store.put_if_absent(key, gzip.compress(b"<h1>changed</h1>", mtime=0))
    assert [f.key for f in scan(store).findings] == [key]
    with pytest.raises(CorruptObject):
        read_page(store, key, entry.content_sha256)
    assert not store.exists(key) and store.get(
        next(k for k in store.list("quarantine/") if not k.endswith(".json"))
    ) == gzip.compress(b"<h1>changed</h1>", mtime=0)
    assert store.put_if_absent(key, gzip.compress(body, mtime=0))  # the key is free again
    assert scan(store).ok
