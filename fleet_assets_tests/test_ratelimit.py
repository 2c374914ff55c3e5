"""Token bucket and per-host limiter, on a fake clock (no real sleeping)."""

from __future__ import annotations

import threading
import time

import pytest

from fleet_assets.lib.crawl.ratelimit import HostLimiter, TokenBucket


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


def bucket(rate: float, burst: float = 1.0, t: FakeTime | None = None) -> tuple[TokenBucket,
                                                                                 FakeTime]:
    t = t or FakeTime()
    return TokenBucket(rate, burst, clock=t.clock, sleep=t.sleep), t


def test_first_burst_is_free_then_requests_are_spaced_by_the_rate():
    b, t = bucket(rate=2.0, burst=3)
    waits = [b.acquire() for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]
    assert t.sleeps == [0.5, 1.0, 1.5]


def test_tokens_refill_with_time_up_to_the_burst():
    b, t = bucket(rate=1.0, burst=2)
    b.acquire(), b.acquire()
    t.now += 10.0  # refills to the burst (2), not to 10
    assert [b.acquire() for _ in range(3)] == [0.0, 0.0, 1.0]


def test_rate_zero_is_unlimited():
    b, t = bucket(rate=0.0)
    assert all(b.acquire() == 0.0 for _ in range(1000)) and t.sleeps == []
    assert b.try_acquire()


def test_try_acquire_does_not_wait():
    b, t = bucket(rate=1.0)
    assert b.try_acquire() and not b.try_acquire()
    t.now += 1.0
    assert b.try_acquire()


@pytest.mark.parametrize(("rate", "burst"), [(-1.0, 1.0), (1.0, 0.5), (float("nan"), 1.0)])
def test_bad_bucket_settings_are_rejected(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_threads_each_get_their_own_place_in_the_queue():
    b, t = bucket(rate=10.0, burst=1)
    results: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        w = b.acquire()
        with lock:
            results.append(w)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # 20 requests at 10/s from a standing start: one free, then 0.1 s apart, none shared.
    assert sorted(round(w, 6) for w in results) == [round(i * 0.1, 6) for i in range(20)]


def test_host_limiter_keeps_one_bucket_per_host():
    t = FakeTime()
    limiter = HostLimiter(rate_per_second=1.0, max_concurrency=4, clock=t.clock, sleep=t.sleep)
    with limiter.slot("a.test") as waited_a:
        pass
    with limiter.slot("b.test") as waited_b:
        pass
    with limiter.slot("a.test") as waited_a2:
        pass
    assert (waited_a, waited_b, waited_a2) == (0.0, 0.0, 1.0)


def test_crawl_delay_slows_a_host_but_never_speeds_it_up():
    t = FakeTime()
    limiter = HostLimiter(rate_per_second=0.0, clock=t.clock, sleep=t.sleep)
    limiter.set_min_interval("a.test", 2.0)
    assert [limiter.bucket("a.test").acquire() for _ in range(3)] == [0.0, 2.0, 4.0]
    slow = HostLimiter(rate_per_second=0.1, clock=t.clock, sleep=t.sleep)
    slow.set_min_interval("b.test", 2.0)  # 0.5/s would be faster than 0.1/s: ignored
    assert slow.bucket("b.test").rate == 0.1


def test_host_limiter_caps_concurrency_per_host():
    limiter = HostLimiter(rate_per_second=0.0, max_concurrency=2)
    active = peak = 0
    lock = threading.Lock()

    def worker(host: str) -> None:
        nonlocal active, peak
        with limiter.slot(host):
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.02)
            with lock:
                active -= 1

    threads = [threading.Thread(target=worker, args=("a.test",)) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert peak == 2


def test_bad_max_concurrency_is_rejected():
    with pytest.raises(ValueError, match="max_concurrency"):
        HostLimiter(max_concurrency=0)
