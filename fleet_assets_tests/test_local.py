"""LocalObjectStore beyond the store contract (contract/test_stores.py): its temp files."""

import pytest

from fleet_assets.lib.store.local import LocalObjectStore, sweep_partials
from fleet_assets_tests.together import run_together


def test_concurrent_writers_leave_no_temp_file_behind(tmp_path):
    store = LocalObjectStore(tmp_path)
    run_together(16, lambda i: (store.put_if_absent("raw/k", f"writer {i}".encode()),
                                store.put("tables/t", f"writer {i}".encode())))
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["k", "t"]


def test_temp_files_of_dead_writers_are_swept_and_live_ones_kept(tmp_path):
    import os

    store = LocalObjectStore(tmp_path)
    (tmp_path / "raw").mkdir()
    dead = tmp_path / "raw" / ".tmp-999999999-abc"  # no such pid
    live = tmp_path / "raw" / f".tmp-{os.getpid()}-abc"
    dead.write_bytes(b"partial")
    live.write_bytes(b"partial")
    assert sweep_partials(store, "raw/") == ["raw/.tmp-999999999-abc"]
    assert live.exists() and not dead.exists()


def test_conditional_create_names_no_temp_file_where_the_system_has_unnamed_files(
        tmp_path, monkeypatch):
    import os
    import tempfile

    if not hasattr(os, "O_TMPFILE"):
        pytest.skip("no O_TMPFILE on this system")
    store = LocalObjectStore(tmp_path)

    def no_named_temp(*a, **kw):
        raise AssertionError("put_if_absent made a named temp file")

    monkeypatch.setattr(tempfile, "mkstemp", no_named_temp)
    assert store.put_if_absent("raw/p/k", b"one") is True
    assert store.put_if_absent("raw/p/k", b"two") is False
    assert store.get("raw/p/k") == b"one"
    assert not store._no_unnamed.is_set()


def test_a_writer_that_dies_before_the_link_leaves_nothing(tmp_path, monkeypatch):
    import os

    store = LocalObjectStore(tmp_path)

    def killed(*a, **kw):
        raise KeyboardInterrupt  # stands for a kill between the write and the link

    monkeypatch.setattr(os, "link", killed)
    with pytest.raises(KeyboardInterrupt):
        store.put_if_absent("raw/p/k", b"partial?")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert sweep_partials(store, "raw/") == []


def test_without_unnamed_files_the_portable_way_is_used_and_remembered(tmp_path, monkeypatch):
    import errno
    import os

    store = LocalObjectStore(tmp_path)
    real_open, calls = os.open, []

    def no_tmpfile(path, flags, *a, **kw):
        if hasattr(os, "O_TMPFILE") and flags & os.O_TMPFILE == os.O_TMPFILE:
            calls.append(path)
            raise OSError(errno.EOPNOTSUPP, "Operation not supported")
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(os, "open", no_tmpfile)
    assert store.put_if_absent("raw/p/a", b"a") is True
    assert store.put_if_absent("raw/p/b", b"b") is True
    assert store.put_if_absent("raw/p/a", b"x") is False
    assert (store.get("raw/p/a"), store.get("raw/p/b")) == (b"a", b"b")
    assert len(calls) <= 1  # asked once, then the portable way without asking again
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a", "b"]


def test_a_directory_removed_after_a_write_is_made_again(tmp_path):
    import shutil

    store = LocalObjectStore(tmp_path)
    assert store.put_if_absent("raw/p/a", b"a")
    shutil.rmtree(tmp_path / "raw")  # a reset removed the partition
    assert store.put_if_absent("raw/p/a", b"again") is True
    assert store.get("raw/p/a") == b"again"
    store.put("raw/p/m", b"manifest")
    shutil.rmtree(tmp_path / "raw")
    store.put("raw/p/m", b"manifest again")
    assert store.get("raw/p/m") == b"manifest again"
