"""lib/crawl/retry.py: the class policies and the pure decision after one attempt."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.backoff import ClassPolicy
from fleet_assets.lib.crawl.result import CrawlResult
from fleet_assets.lib.crawl.retry import (
    DEFAULT_POLICIES,
    Done,
    LeaveUntil,
    RetryIn,
    decide,
    decide_outage,
    policies_from,
)
from fleet_assets.lib.failures import ConfigError, FailureClass, ListingFailed

A, B = FailureClass.TRANSIENT, FailureClass.ENVIRONMENTAL
NOW = 1_750_000_000.0
LIMIT = 30.0  # max_in_run_wait_seconds


def clock() -> float:
    return NOW


def entry(url: str, status: str = "stored", cls: str | None = None,
          due: float | None = None) -> mf.ManifestEntry:
    return mf.ManifestEntry(url=url, natural_key="k" + url, status=status, failure_class=cls,
                            due_at=due)


def result(*entries: mf.ManifestEntry, listing: ListingFailed | None = None,
           exhausted_until: float | None = None) -> CrawlResult:
    return CrawlResult(entries=entries, requests=len(entries), listing_requests=0,
                       newly_stored=0, carried_over=0, bytes_stored=0, outcomes={},
                       proxies_rotated=0, duration_seconds=0.0, attempt=0,
                       proxies_exhausted_until=exhausted_until, listing_failure=listing,
                       finished_at=NOW)


# -- policies --------------------------------------------------------------------------------
def test_default_policies_match_the_issue():
    policies = policies_from({})
    assert policies[A] == ClassPolicy(1.0, 60.0, 5)
    assert policies[B] == ClassPolicy(2.0, 120.0, 5)
    assert policies == dict(DEFAULT_POLICIES)


def test_policy_overrides_apply_field_by_field():
    policies = policies_from({"A": {"max_attempts": 8}, "environmental": {"base_seconds": 0.01}})
    assert policies[A] == ClassPolicy(1.0, 60.0, 8)
    assert policies[B].base_seconds == 0.01 and policies[B].cap_seconds == 120.0


@pytest.mark.parametrize(("overrides", "message"), [
    ({"C": {"max_attempts": 3}}, "retry.C: class C is never retried"),
    ({"X": {}}, "retry.X: 'X' is not a failure class"),
    ({"A": {"base": 1}}, "retry.A: unknown key(s) base; allowed: base_seconds"),
    ({"A": {"max_attempts": 0}}, "retry.A.max_attempts: expected an integer >= 1"),
    ({"B": {"cap_seconds": -1}}, "retry.B.cap_seconds: expected a number >= 0"),
    ({"B": 5}, "retry.B: expected a mapping"),
])
def test_bad_policy_overrides_name_the_key(overrides, message):
    with pytest.raises(ConfigError) as info:
        policies_from(overrides)
    assert message in str(info.value)


# -- the decision ----------------------------------------------------------------------------
def test_a_complete_partition_is_done():
    finished = result(entry("u1"), entry("u2", "gone", "D"), entry("u3", "disallowed"))
    assert decide(finished, DEFAULT_POLICIES, 0, LIMIT, clock) == Done()


@pytest.mark.parametrize(("dues", "attempt", "expected"), [
    ([NOW + 3], 0, RetryIn(3.0, A, 2, 5, 1)),
    ([NOW + 1, NOW + 20], 1, RetryIn(20.0, A, 3, 5, 2)),   # the latest due, never an early retry
    ([NOW - 5], 3, RetryIn(0.0, A, 5, 5, 1)),              # overdue: go now
])
def test_short_waits_retry_inside_the_run(dues, attempt, expected):
    pending = [entry(f"u{i}", "pending", "A", due) for i, due in enumerate(dues)]
    assert decide(result(entry("ok"), *pending), DEFAULT_POLICIES, attempt, LIMIT, clock) == expected


def test_b_outranks_a_and_takes_the_b_budget():
    r = result(entry("a", "pending", "A", NOW + 1), entry("b", "pending", "B", NOW + 2))
    decision = decide(r, DEFAULT_POLICIES, 0, LIMIT, clock)
    assert decision == RetryIn(2.0, B, 2, 5, 2)
    assert decision.message == "rotating (B): 2 pending, next attempt 2/5 in 2.00s"


def test_a_long_retry_after_leaves_the_run_until_it_is_due():
    decision = decide(result(entry("u", "pending", "B", NOW + 600)), DEFAULT_POLICIES, 0, LIMIT,
                      clock)
    assert isinstance(decision, LeaveUntil)
    assert decision.due_at == NOW + 600 and decision.wait_seconds == 600 and decision.attempts == 1
    assert decision.failure_class is B and not decision.proxies_exhausted
    assert "later than the in-run limit" in decision.reason and "come back after" in decision.reason


def test_used_up_attempts_leave_even_when_the_wait_is_short():
    policies = {A: ClassPolicy(0.0, 0.0, 3), B: DEFAULT_POLICIES[B]}
    decision = decide(result(entry("u", "pending", "A", NOW)), policies, 2, LIMIT, clock)
    assert isinstance(decision, LeaveUntil)
    assert "attempts exhausted (3/3)" in decision.reason and decision.due_at == NOW


def test_every_proxy_burned_says_proxies_exhausted():
    r = result(entry("u", "pending", "B", NOW + 300), exhausted_until=NOW + 300)
    decision = decide(r, DEFAULT_POLICIES, 0, LIMIT, clock)
    assert isinstance(decision, LeaveUntil) and decision.proxies_exhausted
    assert decision.reason.startswith("ProxiesExhausted (B): every proxy is burned")


def test_a_failed_listing_page_is_pending_with_its_own_wait():
    listing = ListingFailed("http://x/list?page=2", A, "HTTP 503", wait=4.0)
    decision = decide(result(entry("u1"), listing=listing), DEFAULT_POLICIES, 0, LIMIT, clock)
    assert decision == RetryIn(4.0, A, 2, 5, 1)


def test_a_store_outage_is_class_a_with_a_jittered_wait():
    decision = decide_outage(DEFAULT_POLICIES, 0, LIMIT, random.Random(1), clock)
    assert isinstance(decision, RetryIn) and decision.failure_class is A
    assert 0.0 <= decision.seconds <= DEFAULT_POLICIES[A].base_seconds
    late = decide_outage(DEFAULT_POLICIES, 4, LIMIT, random.Random(1), clock)
    assert isinstance(late, LeaveUntil) and "object store unavailable" in late.reason


@given(
    dues=st.lists(st.floats(-1e4, 1e5, allow_nan=False), min_size=1, max_size=8),
    classes=st.lists(st.sampled_from(["A", "B"]), min_size=8, max_size=8),
    attempt=st.integers(0, 10),
    limit=st.floats(0, 120, allow_nan=False),
)
def test_the_decision_never_retries_early_and_never_exceeds_the_budget(dues, classes, attempt,
                                                                       limit):
    pending = [entry(f"u{i}", "pending", classes[i], NOW + due) for i, due in enumerate(dues)]
    decision = decide(result(*pending), DEFAULT_POLICIES, attempt, limit, clock)
    cls = B if "B" in classes[: len(dues)] else A
    latest = max(0.0, max(NOW + due for due in dues) - NOW)  # as the clock sees it
    assert decision.failure_class is cls
    if isinstance(decision, RetryIn):
        assert decision.seconds == latest <= limit
        assert decision.next_attempt <= DEFAULT_POLICIES[cls].max_attempts
    else:
        assert isinstance(decision, LeaveUntil)
        assert decision.due_at == NOW + latest
        assert latest > limit or attempt + 1 >= DEFAULT_POLICIES[cls].max_attempts
