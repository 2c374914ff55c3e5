"""LocalObjectStore: a directory of objects, written once or replaced whole, never escaped."""

import threading

import pytest

from fleet_assets.lib.store.base import ObjectMissing
from fleet_assets.lib.store.local import LocalObjectStore


def test_put_if_absent_writes_once(tmp_path):
    store = LocalObjectStore(tmp_path)
    assert store.put_if_absent("raw/a/b.gz", b"one") is True
    assert store.put_if_absent("raw/a/b.gz", b"two") is False
    assert store.get("raw/a/b.gz") == b"one"


def test_concurrent_put_if_absent_has_exactly_one_winner(tmp_path):
    store = LocalObjectStore(tmp_path)
    wins = []
    barrier = threading.Barrier(16)

    def put(i):
        barrier.wait()
        if store.put_if_absent("raw/k", f"writer {i}".encode()):
            wins.append(i)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.get("raw/k") == f"writer {wins[0]}".encode()
    assert list(store.list("raw/")) == ["raw/k"]  # no temp files left behind


def test_put_replaces_whole_object(tmp_path):
    store = LocalObjectStore(tmp_path)
    store.put("tables/x.parquet", b"old")
    store.put("tables/x.parquet", b"new")
    assert store.get("tables/x.parquet") == b"new"


def test_missing_object(tmp_path):
    with pytest.raises(ObjectMissing):
        LocalObjectStore(tmp_path).get("raw/none")


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a//b", "a/./b", ""])
def test_keys_cannot_escape_the_root(tmp_path, key):
    with pytest.raises(ValueError):
        LocalObjectStore(tmp_path).put(key, b"x")


def test_list_is_sorted_and_scoped(tmp_path):
    store = LocalObjectStore(tmp_path)
    for k in ["raw/b/2", "raw/a/1", "tables/t/1"]:
        store.put(k, b"")
    assert list(store.list("raw/")) == ["raw/a/1", "raw/b/2"]
    assert list(store.list("nothing/")) == []
