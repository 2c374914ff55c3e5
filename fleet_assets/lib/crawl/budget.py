"""The fleet's shared request budget per host: one interface, where the state lives apart.

``HostBudget.acquire(host, limits)`` returns a ``Lease`` once the caller may send (it waited
for a slot, its rate slot and the host's backoff, see ``ratelimit.py``) or ``Deferred`` with
the moment to come back when that would take longer than ``max_wait`` seconds: a run never
busy-waits for minutes, it leaves the page pending with a ``due_at``. ``release(lease,
outcome)`` returns the slot and reports how the host answered.

Implementations differ only in ``_transact``, the atomic read-modify-write of one host's
state: ``MemoryBudget`` (one process; the default of a bare ``PartitionCrawler``),
``LocalBudget`` (every process on this machine: one small JSON file per host under
``FLEET_HOME/state/budget/``, changed under ``flock``; the lock is held for one
read-modify-write, never while a request is in flight, and hosts never share a lock), and
``resources/budget.py``'s PostgreSQL one for the production fleet (many machines).

Without a rate limit a returned lease is kept for the next request of this process for up
to ``reuse_seconds`` after its grant (it stays counted as in flight fleet-wide meanwhile), so
a fast crawl pays one shared transaction per thread per ``reuse_seconds``, not two per page;
a failure, a probe or an older lease always goes back to the shared state, which is how a
closed host is noticed. ``flush()`` returns the kept leases (the crawler calls it at the end
of an attempt; a killed process's leases expire by time).

Settings (given by the owner, ``resources/budget.py``): ``max_wait`` (seconds a request may
wait for budget before its page is deferred), ``poll`` (how soon to ask again while slots
are full), ``reuse_seconds``, the host ``Backoff``. Clock, sleep and RNG are injectable.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from fleet_assets.lib.crawl.ratelimit import (
    Backoff,
    Busy,
    Grant,
    HostState,
    Limits,
    Outcome,
    grant,
    release,
)

T = TypeVar("T")
# A rate-limited request that wakes more than this share of the interval after the start it
# booked books a new start instead (at most ``LATE_RETRIES`` times, then it goes): sends stay
# within a quarter interval of starts that are a whole interval apart, on a busy machine too.
LATE = 0.25
LATE_RETRIES = 3
Transition = Callable[[HostState, float], tuple[HostState, T]]


@dataclass(frozen=True)
class Lease:
    host: str
    lease_id: str
    waited: float  # seconds spent waiting for budget
    probe: bool = False  # the one request let through to a recovering host
    limits: Limits | None = None
    granted_at: float = 0.0  # this process's clock


@dataclass(frozen=True)
class Deferred:
    host: str
    until: float  # wall-clock seconds (time.time()) when asking again may succeed
    reason: str


class HostBudget(ABC):
    """Concurrency, rate and backoff per host, shared by everyone who uses the same state."""

    def __init__(self, *, backoff: Backoff | None = None, max_wait: float = 15.0,
                 poll: float = 0.05, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None, reuse_seconds: float = 1.0) -> None:
        if not max_wait >= 0 or not poll > 0 or not reuse_seconds >= 0:
            raise ValueError("budget needs max_wait >= 0, poll > 0 and reuse_seconds >= 0, got "
                             f"{max_wait!r}, {poll!r}, {reuse_seconds!r}")
        self.backoff, self.max_wait, self.poll = backoff or Backoff(), max_wait, poll
        self.reuse_seconds = reuse_seconds
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self._kept_lock = threading.Lock()
        self._kept: dict[str, list[Lease]] = {}
        self._failing: set[str] = set()  # hosts this process last saw fail

    @abstractmethod
    def _transact(self, host: str, fn: Transition[T]) -> T:
        """Atomically read ``host``'s state, apply ``fn(state, now)``, store the new state."""

    def acquire(self, host: str, limits: Limits, max_wait: float | None = None) -> Lease | Deferred:
        max_wait = self.max_wait if max_wait is None else max_wait
        lease_id = uuid.uuid4().hex[:16]
        started = self._clock()
        late = 0
        while True:
            # Asked on every round: a lease this process kept may be the slot being waited for.
            kept = self._take_kept(host, limits)
            if kept is not None:
                return kept
            remaining = max(0.0, started + max_wait - self._clock())

            def step(state: HostState, now: float, remaining: float = remaining,
                     lease_id: str = lease_id):
                decision = grant(state, now, limits, lease_id, horizon=remaining, poll=self.poll)
                return decision.state, decision.answer

            answer: Grant | Busy = self._transact(host, step)
            if isinstance(answer, Grant):
                slot = self._clock() + answer.wait
                if answer.wait > 0:
                    self._sleep(answer.wait)
                now = self._clock()
                if (limits.min_interval > 0 and now - slot > LATE * limits.min_interval
                        and late < LATE_RETRIES):
                    # Woke too late for the start it booked: sent now, it could reach the
                    # host right next to the following start (the host would see 12 requests
                    # in a second with 10 booked). Its start is spent; book another.
                    late += 1
                    self._release(Lease(host, lease_id, 0.0, answer.probe, limits, now),
                                  "aborted")
                    lease_id = uuid.uuid4().hex[:16]
                    continue
                return Lease(host, lease_id, now - started, answer.probe, limits, now)
            if answer.retry_in > remaining:
                # Spread the callers that give up together, so they do not come back together.
                spread = self._rng.uniform(0, max(self.poll, 0.25 * answer.retry_in))
                return Deferred(host, self._clock() + answer.retry_in + spread, answer.reason)
            self._sleep(min(remaining, max(answer.retry_in, self.poll * 0.2)
                            + self._rng.uniform(0, self.poll)))

    def release(self, lease: Lease, outcome: Outcome) -> None:
        with self._kept_lock:
            if outcome == "host_error":
                self._failing.add(lease.host)
            elif (outcome == "ok" and lease.host not in self._failing and not lease.probe
                  and lease.limits is not None and lease.limits.min_interval == 0
                  and self._clock() < lease.granted_at + self.reuse_seconds):
                self._kept.setdefault(lease.host, []).append(lease)
                return
            elif outcome == "ok":
                self._failing.discard(lease.host)  # this success resets the fleet's count
        self._release(lease, outcome)

    def _release(self, lease: Lease, outcome: Outcome) -> None:
        self._transact(lease.host, lambda state, now: (
            release(state, now, lease.lease_id, outcome, self.backoff), None))

    def _take_kept(self, host: str, limits: Limits) -> Lease | None:
        stale: list[Lease] = []
        found = None
        with self._kept_lock:
            kept = self._kept.get(host, [])
            while kept and found is None:
                lease = kept.pop()
                if lease.limits == limits and self._clock() < lease.granted_at + self.reuse_seconds:
                    found = lease
                else:
                    stale.append(lease)
        for lease in stale:
            self._release(lease, "ok")
        return None if found is None else Lease(host, found.lease_id, 0.0, False, limits,
                                                found.granted_at)

    def flush(self) -> None:
        """Return every lease this process kept for reuse to the shared state."""
        with self._kept_lock:
            kept = [lease for leases in self._kept.values() for lease in leases]
            self._kept = {}
        for lease in kept:
            self._release(lease, "ok")

    def closed_for(self, host: str) -> float:
        """Seconds until the fleet's backoff lets ``host`` be asked again (0 if open)."""
        return self._transact(host, lambda state, now: (
            state, max(0.0, state.closed_until - now) if state.trips else 0.0))

    def state(self, host: str) -> HostState:
        """The host's current shared state (for tests and ``fleet status``)."""
        return self._transact(host, lambda state, now: (state, state))

    def close(self) -> None:
        """Return kept leases and release held resources; the budget state itself stays."""
        self.flush()


class MemoryBudget(HostBudget):
    """The budget of one process (threads share it); nothing survives the process."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._states: dict[str, HostState] = {}

    def _transact(self, host: str, fn: Transition[T]) -> T:
        with self._lock:
            state, value = fn(self._states.get(host, HostState()), self._clock())
            self._states[host] = state
            return value


def _file_name(host: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", host)[:60]
    return f"{slug}-{hashlib.sha256(host.encode()).hexdigest()[:10]}.json"


class LocalBudget(HostBudget):
    """The budget of every process on this machine: one ``flock``-ed JSON file per host.

    The state is soft: a file torn by a crash mid-write reads as a fresh host (at worst one
    request more in a slot), and a dead process's leases expire by time.
    """

    def __init__(self, root: str | os.PathLike[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._guard = threading.Lock()
        self._fds: dict[str, tuple[int, threading.Lock]] = {}
        self._pid = os.getpid()

    def _handle(self, host: str) -> tuple[int, threading.Lock]:
        with self._guard:
            if self._pid != os.getpid():  # forked: a shared descriptor would share the flock
                self._fds, self._pid = {}, os.getpid()
            handle = self._fds.get(host)
            if handle is None:
                fd = os.open(self.root / _file_name(host), os.O_RDWR | os.O_CREAT, 0o644)
                # flock is per open file, so threads of this process need their own lock too.
                handle = self._fds[host] = (fd, threading.Lock())
            return handle

    def _transact(self, host: str, fn: Transition[T]) -> T:
        fd, lock = self._handle(host)
        with lock:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(fd, 1 << 20, 0)
                try:
                    before = HostState.from_json(json.loads(raw)) if raw else HostState()
                except (ValueError, TypeError):
                    before = HostState()
                state, value = fn(before, self._clock())
                if state != before:
                    blob = json.dumps(state.to_json(), separators=(",", ":")).encode()
                    os.pwrite(fd, blob, 0)
                    os.ftruncate(fd, len(blob))
                return value
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.flush()
        with self._guard:
            for fd, _ in self._fds.values():
                os.close(fd)
            self._fds = {}


__all__ = ["Deferred", "HostBudget", "Lease", "LocalBudget", "MemoryBudget"]
