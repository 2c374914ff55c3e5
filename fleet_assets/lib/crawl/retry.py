"""What a partition does after one attempt: done, retry inside the run, or leave until due.

Reads a target's ``retry:`` (``backoff.ClassPolicy`` per retryable class: ``base_seconds``,
``cap_seconds``, ``max_attempts``, ``retry_after_cap_seconds``) and the fetcher's
``max_in_run_wait_seconds``. Defaults::

    A: {base_seconds: 1, cap_seconds: 60, max_attempts: 5, retry_after_cap_seconds: 3600}
    B: {base_seconds: 2, cap_seconds: 120, max_attempts: 5, retry_after_cap_seconds: 3600}

``decide`` is pure: the crawl result, the policies, the attempt number (0 = first) and a
clock in, a frozen decision out. ``raw_pages`` only acts on it:

- ``Done``: every page is finished (stored, gone or disallowed) and the listing is complete.
- ``RetryIn(seconds)``: attempts remain and every pending page is due within the in-run
  limit: wait that long inside the run (``dg.RetryRequested``). The wait is the *latest* due
  time, so no page (a 429 with a Retry-After) is retried before its own wait.
- ``LeaveUntil(due_at, reason)``: the wait is longer than the in-run limit, or the class's
  attempts are used up: end the step and let a sensor come back after ``due_at``.
- ``GiveUp(reason)``: the listing start page is gone (D) or yields no link (C): the same
  request gives the same answer, so no retry and no recovery.

B outranks A when both are pending: the proxy pool needs a rotation, not only a wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from fleet_assets.lib.crawl.backoff import ClassPolicy, full_jitter
from fleet_assets.lib.crawl.result import CrawlResult
from fleet_assets.lib.failures import ConfigError, FailureClass, parse_class, parse_mapping

Clock = Callable[[], float]
A, B = FailureClass.TRANSIENT, FailureClass.ENVIRONMENTAL
VERBS = {A: "retrying", B: "rotating"}


DEFAULT_POLICIES: Mapping[FailureClass, ClassPolicy] = MappingProxyType({
    A: ClassPolicy(base_seconds=1.0, cap_seconds=60.0, max_attempts=5),
    B: ClassPolicy(base_seconds=2.0, cap_seconds=120.0, max_attempts=5),
})
_POLICY_KEYS = ("base_seconds", "cap_seconds", "max_attempts", "retry_after_cap_seconds")


def policies_from(mapping: Mapping[str, Any] | None) -> dict[FailureClass, ClassPolicy]:
    """The A and B policies with ``targets.yaml`` ``retry:`` overrides applied field by field."""
    policies = dict(DEFAULT_POLICIES)
    for key, spec in (mapping or {}).items():
        cls = parse_class(key, f"retry.{key}")
        if cls not in policies:
            raise ConfigError(f"retry.{key}: class {cls.value} is never retried; "  # type: ignore[union-attr]
                              "only A and B take a policy")
        fields_ = parse_mapping(spec, f"retry.{key}")
        unknown = sorted(str(k) for k in fields_ if k not in _POLICY_KEYS)
        if unknown:
            raise ConfigError(f"retry.{key}: unknown key(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(_POLICY_KEYS)}")
        try:
            policies[cls] = replace(policies[cls], **fields_)  # type: ignore[index]
        except ConfigError as exc:
            raise ConfigError(f"retry.{key}.{exc}") from None
    return policies


# -- the decision ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Done:
    """Nothing is pending: the partition is complete."""


@dataclass(frozen=True)
class RetryIn:
    """Wait ``seconds`` inside the run, then run attempt ``next_attempt`` of ``max_attempts``."""

    seconds: float
    failure_class: FailureClass
    next_attempt: int
    max_attempts: int
    pending: int

    @property
    def message(self) -> str:
        return (f"{VERBS[self.failure_class]} ({self.failure_class.value}): {self.pending} "
                f"pending, next attempt {self.next_attempt}/{self.max_attempts} in "
                f"{self.seconds:.2f}s")


@dataclass(frozen=True)
class LeaveUntil:
    """End the step; the partition is worth another run after ``due_at`` (epoch seconds)."""

    due_at: float
    reason: str
    failure_class: FailureClass
    wait_seconds: float
    attempts: int
    proxies_exhausted: bool


@dataclass(frozen=True)
class GiveUp:
    """Never worth a retry: the listing start page ``url`` is unusable (C or D)."""

    reason: str
    failure_class: FailureClass
    url: str


Decision = Done | RetryIn | LeaveUntil | GiveUp


def decide(result: CrawlResult, policies: Mapping[FailureClass, ClassPolicy], attempt: int,
           max_in_run_wait: float, clock: Clock = time.time) -> Decision:
    """The next move after ``attempt`` (0-based) of a partition produced ``result``."""
    dead = result.listing_dead
    if dead is not None:
        return GiveUp(f"listing start page {dead.url} is unusable ({dead.failure_class.value}): "
                      f"{dead.reason}; check the target's listing.start_url and link selector",
                      dead.failure_class, dead.url)
    if result.complete:
        return Done()
    by_class = result.pending_by_class()
    failure = B if B in by_class else A
    now = clock()
    wait = max(0.0, (result.last_due() or now) - now)
    listing = result.listing_failure
    exhausted = failure is B and (result.proxies_exhausted_until is not None
                                  or (listing is not None and listing.proxies_exhausted))
    if exhausted:
        head = ("ProxiesExhausted (B): every proxy is burned for this target; "
                f"{result.pending_count} page(s) pending")
    else:
        head = f"{result.pending_count} page(s) pending with class {failure.value}"
    return pace(policies[failure], failure, attempt, wait, now, max_in_run_wait,
                pending=result.pending_count, head=head, exhausted=exhausted)


def decide_outage(policies: Mapping[FailureClass, ClassPolicy], attempt: int,
                  max_in_run_wait: float, rng: random.Random,
                  clock: Clock = time.time) -> RetryIn | LeaveUntil:
    """The store is down (``StoreError``, class A): stored objects stay, try again later."""
    policy = policies[A]
    wait = full_jitter(attempt, policy.base_seconds, policy.cap_seconds, rng)
    return pace(policy, A, attempt, wait, clock(), max_in_run_wait, pending=0,
                head="object store unavailable", exhausted=False)


def pace(policy: ClassPolicy, failure: FailureClass, attempt: int, wait: float, now: float,
         max_in_run_wait: float, *, pending: int, head: str,
         exhausted: bool) -> RetryIn | LeaveUntil:
    """Wait inside the run while attempts remain and the wait is short; otherwise leave."""
    used = attempt + 1
    if used < policy.max_attempts and wait <= max_in_run_wait:
        return RetryIn(wait, failure, used + 1, policy.max_attempts, pending)
    due = now + wait
    if used >= policy.max_attempts:
        why = f"attempts exhausted ({used}/{policy.max_attempts})"
    else:
        why = f"next attempt due in {wait:.0f}s, later than the in-run limit"
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(due))
    return LeaveUntil(due, f"{head} ({why}); come back after {when}", failure, wait, used,
                      exhausted)
