"""Politeness per host as a pure decision on shared state: concurrency, rate and backoff.

Every run, process and machine that requests a host reads and writes the same small
``HostState`` (where it lives is ``budget.py``'s business: a locked file under FLEET_HOME, or
a PostgreSQL row). The decisions here are pure functions of that state and the current time,
so the fleet's politeness is one tested policy whatever the storage:

- **Concurrency**: a request holds a *lease* from grant to release; at most
  ``max_concurrency`` live leases per host. A lease expires ``lease_seconds`` after its
  start, so a killed worker never holds budget for longer than that.
- **Rate**: one shared "next start" time per host (a token bucket of burst 1, GCRA): a
  grant reserves the next free start and pushes it ``min_interval`` on, so starts across the
  fleet are spaced by ``1 / requests_per_second`` (or robots.txt ``Crawl-delay`` if slower).
- **Backoff shared by the fleet**: ``trip_after`` host failures in a row (5xx, resets,
  timeouts: class A) close the host for ``backoff_base * 2^(trips-1)`` seconds (capped at
  ``backoff_cap``) for everyone. When that passes, one request is let through as a probe
  while the others wait; its success reopens the host and the waiting requests resume in
  the rate's order, so recovery traffic stays within the host's budget instead of a herd.

Reads a target's ``politeness`` (``max_concurrency``, ``requests_per_second``) through
``Limits.for_politeness``; the backoff settings come from the budget's owner (``budget.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

Outcome = Literal["ok", "host_error", "aborted"]


@dataclass(frozen=True)
class Limits:
    """What one caller asks of a host: it is never granted more than this."""

    max_concurrency: int
    min_interval: float = 0.0  # seconds between request starts; 0 = no rate limit
    lease_seconds: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.max_concurrency, bool) or not isinstance(self.max_concurrency, int) \
                or self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an integer >= 1, got "
                             f"{self.max_concurrency!r}")
        if not (math.isfinite(self.min_interval) and self.min_interval >= 0):
            raise ValueError(f"min_interval must be a finite number >= 0, got {self.min_interval!r}")
        if not self.lease_seconds > 0:
            raise ValueError(f"lease_seconds must be > 0, got {self.lease_seconds!r}")

    @classmethod
    def for_politeness(cls, max_concurrency: int, requests_per_second: float,
                       crawl_delay: float = 0.0, timeout_seconds: float = 10.0) -> Limits:
        if not (math.isfinite(requests_per_second) and requests_per_second >= 0):
            raise ValueError("politeness.requests_per_second must be a number >= 0 "
                             f"(0 = unlimited), got {requests_per_second!r}")
        interval = 1.0 / requests_per_second if requests_per_second else 0.0
        # A request may legitimately last a few timeouts (connect, reads, redirects).
        return cls(max_concurrency, max(interval, crawl_delay or 0.0),
                   lease_seconds=max(30.0, 4 * timeout_seconds))


@dataclass(frozen=True)
class Backoff:
    """The fleet-wide backoff of a failing host."""

    trip_after: int = 5  # random faults rarely fail 5 in a row; an outage does at once
    base: float = 1.0
    cap: float = 60.0

    def __post_init__(self) -> None:
        if self.trip_after < 1 or not (0 < self.base <= self.cap):
            raise ValueError(f"host backoff needs trip_after >= 1 and 0 < base <= cap, got {self}")

    def closed_for(self, trips: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, trips - 1))


@dataclass(frozen=True)
class HostState:
    next_start: float = 0.0
    leases: tuple[tuple[str, float], ...] = ()  # (lease id, expires at)
    failures: int = 0  # host failures in a row, fleet-wide
    trips: int = 0  # backoffs in a row; > 0 means the host is closed or probing
    closed_until: float = 0.0
    probe: str = ""  # the lease id of the probe in flight while trips > 0

    def to_json(self) -> dict:
        return {"next_start": self.next_start, "leases": [list(x) for x in self.leases],
                "failures": self.failures, "trips": self.trips,
                "closed_until": self.closed_until, "probe": self.probe}

    @classmethod
    def from_json(cls, doc: dict | None) -> HostState:
        if not doc:
            return cls()
        return cls(float(doc.get("next_start", 0.0)),
                   tuple((str(i), float(e)) for i, e in doc.get("leases", ())),
                   int(doc.get("failures", 0)), int(doc.get("trips", 0)),
                   float(doc.get("closed_until", 0.0)), str(doc.get("probe", "")))


@dataclass(frozen=True)
class Grant:
    lease_id: str
    wait: float  # seconds from now until the reserved start
    probe: bool = False


@dataclass(frozen=True)
class Busy:
    retry_in: float  # when asking again may succeed
    reason: str


@dataclass(frozen=True)
class Decision:
    state: HostState
    answer: Grant | Busy
    expired: tuple[str, ...] = field(default=())


def _live(state: HostState, now: float) -> tuple[HostState, tuple[str, ...]]:
    live = tuple(x for x in state.leases if x[1] > now)
    gone = tuple(i for i, _ in state.leases if i not in {j for j, _ in live})
    probe = state.probe if state.probe in {i for i, _ in live} else ""
    return replace(state, leases=live, probe=probe), gone


def grant(state: HostState, now: float, limits: Limits, lease_id: str, *,
          horizon: float, poll: float) -> Decision:
    """Give ``lease_id`` a slot and a start time, or say when to ask again.

    ``horizon``: the latest start (seconds from now) the caller accepts; a later rate slot is
    not reserved, so a caller that gives up leaves no hole in the schedule. ``poll``: how
    soon to ask again when a slot or the probe is busy (the caller jitters it).
    """
    state, expired = _live(state, now)
    if state.trips and now < state.closed_until:
        return Decision(state, Busy(state.closed_until - now, "host backing off after failures"),
                        expired)
    if state.trips and state.probe:
        return Decision(state, Busy(poll, "a probe of the recovering host is in flight"), expired)
    if len(state.leases) >= limits.max_concurrency:
        first_expiry = min(e for _, e in state.leases) - now
        return Decision(state, Busy(min(poll, max(first_expiry, 0.0)),
                                    f"{len(state.leases)} request(s) in flight"), expired)
    start = max(now, state.next_start)
    if start - now > horizon:
        return Decision(state, Busy(start - now, "rate budget booked ahead"), expired)
    probing = state.trips > 0
    state = replace(state, next_start=start + limits.min_interval,
                    leases=(*state.leases, (lease_id, start + limits.lease_seconds)),
                    probe=lease_id if probing else state.probe)
    return Decision(state, Grant(lease_id, start - now, probing), expired)


def release(state: HostState, now: float, lease_id: str, outcome: Outcome,
            backoff: Backoff) -> HostState:
    """Return the lease and fold the request's outcome into the host's shared backoff."""
    state, _ = _live(state, now)
    was_probe = state.probe == lease_id
    state = replace(state, leases=tuple(x for x in state.leases if x[0] != lease_id),
                    probe="" if was_probe else state.probe)
    if outcome == "aborted":
        return state
    if outcome == "ok":
        return replace(state, failures=0, trips=0, closed_until=0.0) if (
            state.failures or state.trips) else state
    if state.trips and not was_probe:
        return state  # a request granted before the host closed: already counted
    failures = state.failures + 1
    if was_probe or failures >= backoff.trip_after:
        trips = state.trips + 1
        return replace(state, failures=0, trips=trips,
                       closed_until=now + backoff.closed_for(trips))
    return replace(state, failures=failures)


__all__ = ["Backoff", "Busy", "Decision", "Grant", "HostState", "Limits", "Outcome",
           "grant", "release"]
