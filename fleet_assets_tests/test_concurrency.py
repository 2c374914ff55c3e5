"""Partitions run at once in separate processes, with results equal to running them one by one."""

from __future__ import annotations

import pytest

from fleet_assets.cli.launch import INGEST, materialize_many
from fleet_assets.state.instance import get_instance, register_targets
from fleet_assets_tests.snapshots import store_snapshot

PARTITIONS = [("2025-06-10", "shop"), ("2025-06-10", "news"), ("2025-06-11", "shop"),
              ("2025-06-10", "jobs")]


def _run(home, monkeypatch, sandbox, workers, one_by_one=False):
    monkeypatch.setenv("FLEET_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    monkeypatch.setenv("FLEET_SANDBOX_URL", sandbox.url)
    register_targets(get_instance(), {t for _, t in PARTITIONS})
    if one_by_one:
        runs = [r for p in PARTITIONS for r in materialize_many([p], INGEST, workers=1)]
    else:
        runs = materialize_many(PARTITIONS, INGEST, workers=workers)
    return runs


@pytest.mark.slow
def test_four_partitions_in_four_processes_equal_one_by_one(tmp_path, monkeypatch, sandbox):
    together = _run(tmp_path / "together", monkeypatch, sandbox, workers=4)
    assert [r.success for r in together] == [True] * 4, [r.error for r in together]
    assert len({r.run_id for r in together}) == 4
    alone = _run(tmp_path / "alone", monkeypatch, sandbox, workers=1, one_by_one=True)
    assert all(r.success for r in alone)
    concurrent_store = store_snapshot(tmp_path / "together")
    sequential_store = store_snapshot(tmp_path / "alone")
    assert concurrent_store.keys() == sequential_store.keys()
    assert concurrent_store == sequential_store
    instance = get_instance()
    assert len(instance.get_run_records()) == 4  # the 'alone' home has its own instance
