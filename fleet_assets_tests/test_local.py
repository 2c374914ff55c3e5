"""LocalObjectStore beyond the store contract (contract/test_stores.py): its temp files."""

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
