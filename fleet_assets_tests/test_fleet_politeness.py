"""Politeness across the fleet, measured at the server (the sandbox counts what it receives).

Partitions launched at once in separate processes (the path of ``fleet demo --workers 6``,
each a Dagster run) share the host's budget: the sandbox's peak concurrent requests stays
within ``max_concurrency`` and its busiest second within ``requests_per_second`` x 1.1. After
a 10 s outage the retries of every partition come back at the host's rate, not as a herd.
"""

from __future__ import annotations

import threading
import time

import pytest
from retry_support import targets_file

from fleet_assets.cli.launch import INGEST, materialize_many
from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.state.instance import get_instance, register_targets

POLITE = {"politeness": {"max_concurrency": 3, "requests_per_second": 10, "obey_robots": True}}
DATES = [f"2025-06-{d:02d}" for d in range(10, 16)]


def _launch(fleet_env, monkeypatch, tmp_path, pairs, **env):
    monkeypatch.setenv("FLEET_TARGETS", targets_file(tmp_path, shop=POLITE, news=POLITE))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    register_targets(get_instance(), {t for _, t in pairs})
    return materialize_many(pairs, INGEST, workers=len(pairs))


def _check_every_page_stored_once(home, pairs) -> int:
    store = LocalObjectStore(home)
    pages = 0
    for date, target in pairs:
        entries = mf.loads(store.get(keys.manifest_key(target, date)))
        assert entries and {e.status for e in entries} == {mf.STORED}, (date, target)
        stored = [k for k in store.list(keys.partition_prefix(target, date))
                  if k.endswith(".html.gz") and "/_listing/" not in k]
        assert sorted(stored) == sorted(e.object_key for e in entries)
        pages += len(entries)
    return pages


@pytest.mark.slow
def test_six_partitions_of_one_target_hold_its_politeness_at_the_server(
        fleet_env, monkeypatch, tmp_path, sandbox):
    # Slow answers (0.4 s at 10 starts a second) would keep 4 requests open: the cap binds.
    sandbox.set_faults({"slow_rate": 1.0, "slow_seconds": 0.4})
    pairs = [(d, "shop") for d in DATES]
    runs = _launch(fleet_env, monkeypatch, tmp_path, pairs)
    assert all(r.success for r in runs), [r.error for r in runs]
    stats = sandbox.stats()
    print(f"six shop partitions: peak in flight {stats['peak_in_flight']}, "
          f"peak/s {stats['peak_per_second']}, total {stats['total']}")
    assert stats["peak_in_flight"] <= 3, stats["peak_in_flight"]
    assert stats["peak_per_second"] <= 10 * 1.1, stats["per_second"]
    _check_every_page_stored_once(fleet_env, pairs)


@pytest.mark.slow
def test_two_targets_on_one_host_share_its_budget(fleet_env, monkeypatch, tmp_path, sandbox):
    pairs = [(d, t) for d in DATES[:3] for t in ("shop", "news")]
    runs = _launch(fleet_env, monkeypatch, tmp_path, pairs)
    assert all(r.success for r in runs), [r.error for r in runs]
    stats = sandbox.stats()
    print(f"shop+news on one host: peak in flight {stats['peak_in_flight']}, "
          f"peak/s {stats['peak_per_second']}, total {stats['total']}")
    assert stats["by_target"].get("news") and stats["by_target"].get("shop")
    assert stats["peak_in_flight"] <= 3, stats["peak_in_flight"]
    assert stats["peak_per_second"] <= 10 * 1.1, stats["per_second"]


@pytest.mark.slow
def test_after_a_10s_outage_six_partitions_recover_without_a_herd(
        fleet_env, monkeypatch, tmp_path, sandbox):
    pairs = [(d, "shop") for d in DATES]
    marks: dict[str, float] = {}

    def outage() -> None:
        # Wait until the crawl is under way, then fail every request for 10 s.
        deadline = time.time() + 120
        while sandbox.stats()["by_target"].get("shop", 0) < 30 and time.time() < deadline:
            time.sleep(0.2)
        sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["shop"]})
        marks["down"] = time.time()
        time.sleep(10)
        sandbox.set_faults({})
        marks["up"] = time.time()

    thread = threading.Thread(target=outage)
    thread.start()
    runs = _launch(fleet_env, monkeypatch, tmp_path, pairs, FLEET_BUDGET_BACKOFF_BASE="1",
                   FLEET_BUDGET_BACKOFF_CAP="4")
    thread.join()
    assert all(r.success for r in runs), [r.error for r in runs]
    stats = sandbox.stats()
    per_second = {int(k): v for k, v in stats["per_second"].items()}
    recovery = [n for s, n in per_second.items() if s > marks["up"]]
    # Arrival counts in every second from the end of the outage to the last arrival.
    first, last = int(marks["up"]) + 1, max(per_second)
    window = [per_second.get(s, 0) for s in range(first, last + 1)]
    assert sum(recovery) >= 50, window  # the outage left real work to recover
    mean = sum(window) / len(window)
    during = sum(n for s, n in per_second.items() if marks["down"] <= s < marks["up"])
    print(f"outage: {during} requests in 10 s; recovery: {len(window)} s, "
          f"peak {max(window)}/s, mean {mean:.2f}/s, window {window}")
    assert max(window) <= 2 * mean, (window, mean)
    assert stats["peak_in_flight"] <= 3 and stats["peak_per_second"] <= 11
    _check_every_page_stored_once(fleet_env, pairs)


@pytest.mark.slow
def test_a_daemon_backfill_of_two_targets_on_one_host_holds_the_hosts_budget(
        sandbox, tmp_path):
    """``fleet backfill`` through the webserver and daemon: runs of shop and news overlap (the
    run queue limits runs per target, not per host), and the host budget still holds."""
    import subprocess
    import sys

    from fleet_assets.settings import REPO_ROOT
    from fleet_assets_tests.dagster_services import DagsterServices

    targets = targets_file(tmp_path, shop=POLITE, news=POLITE)
    sandbox.set_faults({"slow_rate": 1.0, "slow_seconds": 0.4})

    class Services(DagsterServices):
        @property
        def env(self) -> dict[str, str]:
            return {**super().env, "FLEET_TARGETS": targets}

    with Services(tmp_path / "svc", sandbox.url) as services:
        proc = subprocess.run(
            [sys.executable, "-m", "fleet_assets.cli.main", "backfill", "--from", DATES[0],
             "--to", DATES[1], "--target", "shop", "--target", "news", "--timeout", "600"],
            cwd=REPO_ROOT, env={**services.env, "FLEET_DAGSTER_URL": services.url},
            capture_output=True, text=True, timeout=660)
        assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{services.logs()}"
    stats = sandbox.stats()
    print(f"daemon backfill shop+news: peak in flight {stats['peak_in_flight']}, "
          f"peak/s {stats['peak_per_second']}, total {stats['total']}")
    assert stats["by_target"].get("news") and stats["by_target"].get("shop")
    assert stats["peak_in_flight"] <= 3, stats["peak_in_flight"]
    assert stats["peak_per_second"] <= 10 * 1.1, stats["per_second"]
