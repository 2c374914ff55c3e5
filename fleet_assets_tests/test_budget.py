"""The shared per-host budget: every implementation, across threads and processes.

Contract tests run on each backend (one process in memory, the machine's files, PostgreSQL);
the multi-process ones measure what the holders really did (start and end times), and a
crawler test shows a partition that cannot get budget defers its pages without a request.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import threading
import time

import pytest
from retry_support import targets_file
from services import postgres_db  # noqa: F401  (fixture)

from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.budget import Deferred, Lease, LocalBudget, MemoryBudget
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.ratelimit import Backoff, Limits
from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
from fleet_assets.lib.http.fetcher import HttpFetcher
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.lib.taxonomy import Taxonomy

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname={db}"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make(kind: str, where: str, **kwargs):
    if kind == "memory":
        return MemoryBudget(**kwargs)
    if kind == "local":
        return LocalBudget(where, **kwargs)
    from fleet_assets.resources.budget import PostgresBudget

    return PostgresBudget(PG_DSN.format(db=where), **kwargs)


@pytest.fixture(params=["memory", "local", "postgres"])
def backend(request, tmp_path):
    """(kind, where): where two budget objects made from it share their state."""
    if request.param == "postgres":
        db = request.getfixturevalue("postgres_db")
        return "postgres", db
    return request.param, str(tmp_path / "budget")


def hold_many(budget, host: str, limits: Limits, n: int, hold: float, threads: int):
    """``threads`` threads take ``n`` leases in all, each held ``hold`` s; their (start, end)."""
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    todo = iter(range(n))

    def worker() -> None:
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            lease = budget.acquire(host, limits, max_wait=60.0)
            assert isinstance(lease, Lease), lease
            start = time.time()
            time.sleep(hold)
            end = time.time()
            budget.release(lease, "ok")
            with lock:
                spans.append((start, end))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return spans


def peak_overlap(spans) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans],
                    key=lambda x: (x[0], x[1]))
    peak = cur = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    return peak


def test_threads_never_exceed_the_concurrency_and_start_at_the_rate(backend):
    budget = make(*backend, poll=0.01)
    spans = hold_many(budget, "h:1", Limits(2, min_interval=0.02), n=30, hold=0.03, threads=6)
    assert len(spans) == 30 and peak_overlap(spans) <= 2
    starts = sorted(s for s, _ in spans)
    # Reserved starts are 20 ms apart; the sleeps may only make them later, never earlier.
    assert starts[-1] - starts[0] >= 29 * 0.02 * 0.9


def _child(kind: str, where: str, out, n: int) -> None:
    budget = make(kind, where, poll=0.01)
    out.put(hold_many(budget, "h:2", Limits(3, min_interval=0.01), n=n, hold=0.02, threads=4))


@pytest.mark.parametrize("kind", ["local", "postgres"])
def test_processes_share_one_budget(kind, tmp_path, request):
    where = request.getfixturevalue("postgres_db") if kind == "postgres" else str(tmp_path / "b")
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(kind, where, out, 15)) for _ in range(3)]
    for p in procs:
        p.start()
    spans = [s for _ in procs for s in _result(out, procs)]
    for p in procs:
        p.join(timeout=30)
    assert len(spans) == 45
    assert peak_overlap(spans) <= 3  # 3 processes x 4 threads, 3 slots fleet-wide


def _result(out, procs, limit: float = 600) -> list:
    """The next child's spans; fails at once when a child died without sending any."""
    import queue
    import time

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            return out.get(timeout=1)
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            assert not dead, f"a budget process died (exit codes {dead}): see its stderr"
    raise AssertionError(f"no result from the budget processes in {limit} s")


def test_workers_starting_together_on_a_fresh_database_all_get_the_budget(request):
    """CREATE TABLE IF NOT EXISTS raced itself: one of 3 processes failed on pg_type."""
    import psycopg2

    from fleet_assets_tests.together import run_together

    db = request.getfixturevalue("postgres_db")
    errors = []

    def start(i: int) -> None:
        try:
            make("postgres", db).close()
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    for _ in range(5):  # a fresh table each round: the race is at creation
        run_together(8, start)
        assert errors == []
        with psycopg2.connect(PG_DSN.format(db=db)) as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE fleet_host_budget")


def _die_holding(kind: str, where: str) -> None:
    budget = make(kind, where)
    lease = budget.acquire("h:3", Limits(1, lease_seconds=1.0))
    assert isinstance(lease, Lease)
    os._exit(0)  # killed mid-request: never releases


@pytest.mark.parametrize("kind", ["local", "postgres"])
def test_a_killed_workers_slot_comes_back_when_its_lease_expires(kind, tmp_path, request):
    where = request.getfixturevalue("postgres_db") if kind == "postgres" else str(tmp_path / "b")
    p = mp.get_context("spawn").Process(target=_die_holding, args=(kind, where))
    p.start()
    p.join(timeout=600)
    assert p.exitcode == 0  # it took the only slot and died holding it
    budget = make(kind, where, poll=0.05)
    started = time.monotonic()
    lease = budget.acquire("h:3", Limits(1, lease_seconds=1.0), max_wait=30.0)
    assert isinstance(lease, Lease)
    assert time.monotonic() - started < 25.0  # the 1 s lease, not forever (30 s max_wait)


def test_a_caller_that_cannot_get_budget_soon_is_deferred_not_kept_waiting(tmp_path):
    t = FakeTime()
    a = LocalBudget(tmp_path, clock=t.clock, sleep=t.sleep, rng=random.Random(0))
    b = LocalBudget(tmp_path, clock=t.clock, sleep=t.sleep, rng=random.Random(1))
    held = a.acquire("h", Limits(1, lease_seconds=600.0))
    assert isinstance(held, Lease)
    before = t.now
    got = b.acquire("h", Limits(1, lease_seconds=600.0), max_wait=5.0)
    assert isinstance(got, Deferred) and "in flight" in got.reason
    assert t.now - before <= 5.0 + 0.1  # waited at most max_wait on the (fake) clock
    assert got.until > t.now


def test_the_backoff_of_a_failing_host_is_shared_by_every_budget_object(tmp_path):
    t = FakeTime()
    kwargs = {"clock": t.clock, "sleep": t.sleep, "backoff": Backoff(3, 4.0, 60.0)}
    runs = [LocalBudget(tmp_path, **kwargs) for _ in range(3)]
    for run in runs:  # three runs each see one failure: the host closes for all
        lease = run.acquire("h", Limits(8))
        run.release(lease, "host_error")
    fresh = LocalBudget(tmp_path, **kwargs)
    assert fresh.closed_for("h") == pytest.approx(4.0)
    got = fresh.acquire("h", Limits(8), max_wait=1.0)
    assert isinstance(got, Deferred) and got.until >= t.now + 3.0


def test_a_closed_host_defers_every_page_without_a_request(fleet_env, sandbox, tmp_path):
    budget = LocalBudget(tmp_path / "budget", backoff=Backoff(1, 300.0, 600.0), max_wait=0.5)
    host = sandbox.url.split("//", 1)[1]
    lease = budget.acquire(host, Limits(8))
    budget.release(lease, "host_error")  # another run saw the host fail: closed for 300 s
    target = load_targets(targets_file(tmp_path, jobs={}))["jobs"]
    crawler = PartitionCrawler(target=target, date="2025-06-10", store=LocalObjectStore(fleet_env),
                               fetcher=HttpFetcher(), taxonomy=Taxonomy(),
                               policies=dict(DEFAULT_POLICIES), budget=budget)
    started = time.monotonic()
    result = crawler.run()
    assert time.monotonic() - started < 120.0  # never waits the 300 s inside the attempt
    assert sandbox.stats()["total"] == 0 and result.requests == 0
    assert {e.status for e in result.entries} == {mf.PENDING}
    assert all(e.attempts == 0 and e.due_at > time.time() + 150 for e in result.entries)
    assert result.outcomes.get("deferred") == len(result.entries)


def test_without_a_rate_a_kept_lease_serves_the_next_request_and_stays_counted(tmp_path):
    t = FakeTime()
    mine = LocalBudget(tmp_path, clock=t.clock, sleep=t.sleep, reuse_seconds=1.0)
    other = LocalBudget(tmp_path, clock=t.clock, sleep=t.sleep)
    lease = mine.acquire("h", Limits(1))
    mine.release(lease, "ok")
    assert [i for i, _ in mine.state("h").leases] == [lease.lease_id]  # still in flight
    assert isinstance(other.acquire("h", Limits(1), max_wait=0.0), Deferred)
    again = mine.acquire("h", Limits(1))
    assert isinstance(again, Lease) and again.lease_id == lease.lease_id
    mine.release(again, "ok")
    mine.flush()
    assert mine.state("h").leases == ()
    assert isinstance(other.acquire("h", Limits(1), max_wait=0.0), Lease)


def test_a_failure_or_an_old_lease_always_goes_back_to_the_fleet(tmp_path):
    t = FakeTime()
    mine = LocalBudget(tmp_path, clock=t.clock, sleep=t.sleep, reuse_seconds=1.0,
                       backoff=Backoff(2, 5.0, 10.0))
    first = mine.acquire("h", Limits(4))
    mine.release(first, "host_error")
    assert mine.state("h").failures == 1 and mine.state("h").leases == ()
    second = mine.acquire("h", Limits(4))
    mine.release(second, "ok")  # resets the fleet's count after this process's failure
    assert mine.state("h").failures == 0 and mine.state("h").leases == ()
    third = mine.acquire("h", Limits(4))
    t.now += 2.0  # older than reuse_seconds: returned, so a closed host is noticed
    mine.release(third, "ok")
    assert mine.state("h").leases == ()


def test_with_a_rate_every_request_books_its_own_start(tmp_path):
    t = FakeTime()
    mine = LocalBudget(tmp_path, clock=t.clock, sleep=t.sleep, reuse_seconds=1.0)
    limits = Limits(4, min_interval=0.1)
    for _ in range(3):
        mine.release(mine.acquire("h", limits), "ok")
    assert mine.state("h").leases == ()
    assert mine.state("h").next_start == pytest.approx(1000.3)


def test_a_waiter_takes_a_lease_this_process_kept_instead_of_starving(tmp_path):
    """The slots fill up, the waiter waits, their holders keep them: the waiter reuses one."""
    t = FakeTime()
    held: list[Lease] = []

    def sleep(seconds: float) -> None:  # while the waiter sleeps, the holders finish
        t.sleep(seconds)
        while held:
            mine.release(held.pop(), "ok")

    mine = LocalBudget(tmp_path, clock=t.clock, sleep=sleep, reuse_seconds=1.0)
    held += [mine.acquire("h", Limits(2)) for _ in range(2)]
    ids = {lease.lease_id for lease in held}
    got = mine.acquire("h", Limits(2), max_wait=5.0)
    assert isinstance(got, Lease) and got.lease_id in ids
    other = mine.acquire("h", Limits(3), max_wait=5.0)  # other limits: a kept lease is returned
    assert isinstance(other, Lease) and other.lease_id not in ids


def test_the_environment_switch_picks_the_budget_and_bad_settings_name_the_variable(
        tmp_path, monkeypatch, request):
    import dagster as dg

    from fleet_assets import settings
    from fleet_assets.lib.failures import ConfigError
    from fleet_assets.resources import _budget, build_resources
    from fleet_assets.resources.budget import HostBudgetResource, PostgresBudget

    db = request.getfixturevalue("postgres_db")

    monkeypatch.setenv("FLEET_HOME", str(tmp_path))
    local = build_resources("local")["budget"]
    assert local.backend == "local" and local.root == str(tmp_path / "state" / "budget")
    assert isinstance(local.get_budget(), LocalBudget)
    monkeypatch.setenv("FLEET_BUDGET_POSTGRES_URL", PG_DSN.format(db=db))
    assert _budget("prod").backend == "postgres"  # the S3 store needs more to build whole
    prod = HostBudgetResource(backend="postgres", postgres_url=PG_DSN.format(db=db))
    assert isinstance(prod.get_budget(), PostgresBudget)
    monkeypatch.setenv("FLEET_BUDGET_MAX_WAIT", "soon")
    with pytest.raises(ConfigError, match="FLEET_BUDGET_MAX_WAIT='soon'"):
        settings.budget()
    monkeypatch.delenv("FLEET_BUDGET_MAX_WAIT")
    monkeypatch.setenv("FLEET_BUDGET_BACKOFF_CAP", "0.5")
    with pytest.raises(ConfigError, match="FLEET_BUDGET_BACKOFF_CAP"):
        settings.budget()
    with pytest.raises(dg.Failure, match="use 'local' or 'postgres'"):
        HostBudgetResource(backend="redis").get_budget()



def test_a_request_that_wakes_late_for_its_start_books_another(tmp_path):
    """Sent late, it would reach the host next to the following start: 12 in a second."""
    t = FakeTime()
    overshoot = [0.06, 0.0]  # the first wait ends 60 ms late (a busy machine), the next on time

    def sleep(seconds: float) -> None:
        t.sleep(seconds + (overshoot.pop(0) if overshoot else 0.0))

    mine = LocalBudget(tmp_path, clock=t.clock, sleep=sleep, reuse_seconds=1.0)
    limits = Limits(4, min_interval=0.1)
    first = mine.acquire("h", limits)  # at once: no wait, nothing to be late for
    second = mine.acquire("h", limits)  # booked 1000.1, woke 1000.16: rebooked for 1000.2
    assert first.granted_at == pytest.approx(1000.0)
    assert second.granted_at == pytest.approx(1000.2)
    assert [lid for lid, _ in mine.state("h").leases] == [first.lease_id, second.lease_id]
    mine.release(first, "ok")
    mine.release(second, "ok")
    assert mine.state("h").leases == () and mine.state("h").next_start == pytest.approx(1000.3)


def test_a_machine_that_is_always_late_still_sends_after_a_few_tries(tmp_path):
    t = FakeTime()
    mine = LocalBudget(tmp_path, clock=t.clock, sleep=lambda s: t.sleep(s + 0.05),
                       reuse_seconds=1.0)
    limits = Limits(1, min_interval=0.1)
    mine.release(mine.acquire("h", limits), "ok")
    lease = mine.acquire("h", limits)
    assert not isinstance(lease, Deferred)
    assert [lid for lid, _ in mine.state("h").leases] == [lease.lease_id]  # the rest aborted
