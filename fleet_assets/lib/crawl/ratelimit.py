"""Politeness inside a step: a token bucket and a concurrency cap per host.

Reads a target's ``politeness``: ``requests_per_second`` (0 = unlimited), ``max_concurrency``
(simultaneous requests per host), and robots.txt ``Crawl-delay`` through
``HostLimiter.set_min_interval``.

``TokenBucket.acquire`` reserves its token under the lock and sleeps outside it: the
balance may go negative, and each caller sleeps for its own place in the queue, so threads
are served in arrival order and never hold the lock while sleeping. Clock and sleep are
injectable so tests run on a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """``rate_per_second`` tokens a second, at most ``burst`` saved up; rate 0 = unlimited."""

    def __init__(self, rate_per_second: float, burst: float = 1.0, *,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if not rate_per_second >= 0:
            raise ValueError(f"rate_per_second must be >= 0, got {rate_per_second!r}")
        if not burst >= 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.rate, self.burst = float(rate_per_second), float(burst)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` now and return how long the caller must wait before using them."""
        if self.rate == 0:
            return 0.0
        with self._lock:
            self._refill()
            self._tokens -= tokens
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, tokens: float = 1.0) -> float:
        """Block until ``tokens`` are available; returns the seconds slept."""
        wait = self.reserve(tokens)
        if wait > 0:
            self._sleep(wait)
        return wait

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` only if available right now."""
        if self.rate == 0:
            return True
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False


class HostLimiter:
    """One token bucket and one bounded semaphore per host, created on first use."""

    def __init__(self, rate_per_second: float = 0.0, max_concurrency: int = 8,
                 burst: float = 1.0, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an integer >= 1, got {max_concurrency!r}")
        TokenBucket(rate_per_second, burst)  # validates before any host is seen
        self.rate_per_second, self.max_concurrency, self.burst = (
            rate_per_second, max_concurrency, burst)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def bucket(self, host: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(host)
            if bucket is None:
                bucket = TokenBucket(self.rate_per_second, self.burst,
                                     clock=self._clock, sleep=self._sleep)
                self._buckets[host] = bucket
            return bucket

    def _semaphore(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._slots.setdefault(host, threading.BoundedSemaphore(self.max_concurrency))

    def set_min_interval(self, host: str, seconds: float) -> None:
        """At most one request per ``seconds`` to ``host`` (Crawl-delay), if that is slower."""
        if not seconds > 0:
            return
        rate = 1.0 / seconds
        with self._lock:
            current = self._buckets.get(host)
            current_rate = current.rate if current is not None else self.rate_per_second
            if 0 < current_rate <= rate:
                return
            self._buckets[host] = TokenBucket(rate, 1.0, clock=self._clock, sleep=self._sleep)

    @contextmanager
    def slot(self, host: str) -> Iterator[float]:
        """Hold one of the host's concurrency slots and one token; yields the seconds slept."""
        semaphore = self._semaphore(host)
        with semaphore:
            yield self.bucket(host).acquire()
