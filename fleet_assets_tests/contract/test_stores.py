"""The object-store contract: every ``ObjectStore`` (local directory, S3) passes this suite.

What the pipeline relies on: ``put_if_absent`` is a conditional create with exactly one
winner among concurrent writers, ``put`` replaces a whole object, a missing key raises
``ObjectMissing``, ``list`` is sorted and scoped to its prefix, and no key escapes the store.
Implementation details (S3's 412/409 handling, local temp files) stay in test_local.py and
test_s3.py.
"""

from __future__ import annotations

import pytest

from fleet_assets.lib.store.base import ObjectMissing, ObjectStore
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets_tests.s3server import fresh_s3_store
from fleet_assets_tests.together import run_together


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path)
    return fresh_s3_store(request.getfixturevalue("s3_server"))


def test_every_store_is_an_object_store(store):
    assert isinstance(store, ObjectStore)


def test_put_if_absent_writes_once(store):
    assert store.put_if_absent("raw/a/b.gz", b"one") is True
    assert store.put_if_absent("raw/a/b.gz", b"two") is False
    assert store.get("raw/a/b.gz") == b"one"


def test_concurrent_put_if_absent_has_exactly_one_winner(store):
    won = run_together(12, lambda i: store.put_if_absent("raw/k", f"writer {i}".encode()))
    wins = [i for i, w in enumerate(won) if w]
    assert len(wins) == 1
    assert store.get("raw/k") == f"writer {wins[0]}".encode()
    assert list(store.list("raw/")) == ["raw/k"]  # no partial or temp object is visible


def test_put_replaces_the_whole_object(store):
    store.put("tables/x.parquet", b"old and longer")
    store.put("tables/x.parquet", b"new")
    assert store.get("tables/x.parquet") == b"new"


def test_get_exists_delete_and_missing(store):
    with pytest.raises(ObjectMissing):
        store.get("raw/none")
    assert not store.exists("raw/none")
    store.put("raw/x", b"1")
    assert store.exists("raw/x")
    store.delete("raw/x")
    store.delete("raw/x")  # deleting what is gone is not an error
    assert not store.exists("raw/x")


def test_list_is_sorted_and_scoped(store):
    for k in ["raw/b/2", "raw/a/1", "tables/t/1"]:
        store.put(k, b"")
    assert list(store.list("raw/")) == ["raw/a/1", "raw/b/2"]
    assert list(store.list("nothing/")) == []


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a//b", "a/./b", ""])
def test_keys_cannot_escape_the_store(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")
