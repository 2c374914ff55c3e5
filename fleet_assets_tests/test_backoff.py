"""Full-jitter backoff (bounds and spread, measured) and Retry-After in both of its forms."""

from __future__ import annotations

import datetime as dt
import email.utils
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet_assets.lib.crawl.backoff import (
    ClassPolicy,
    ceiling,
    full_jitter,
    next_wait,
    parse_retry_after,
)

NOW = dt.datetime(2025, 1, 2, 12, 0, 0, tzinfo=dt.UTC)
POLICY_B = ClassPolicy(base_seconds=2.0, cap_seconds=120.0, max_attempts=5)


@pytest.mark.parametrize("attempt", range(9))
def test_full_jitter_stays_in_range_and_spreads_over_it(attempt):
    base, cap, draws = 1.0, 60.0, 1000
    top = min(cap, base * 2**attempt)
    rng = random.Random(1234 + attempt)
    values = [full_jitter(attempt, base, cap, rng) for _ in range(draws)]
    assert all(0.0 <= v <= top for v in values)
    tenths = [0] * 10
    for v in values:
        tenths[min(9, int(v / top * 10))] += 1
    mean = draws / 10
    assert max(tenths) <= 2 * mean, tenths
    assert min(tenths) > 0, tenths  # the whole range is used, not only its top (no herd)


def test_jitter_ceiling_doubles_until_the_cap():
    assert [ceiling(n, 1.0, 60.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_huge_attempt_numbers_stay_at_the_cap():
    assert ceiling(5000, 1.0, 60.0) == 60.0
    assert 0 <= full_jitter(5000, 1.0, 60.0, random.Random(0)) <= 60.0


def test_negative_attempt_is_rejected():
    with pytest.raises(ValueError, match="attempt must be >= 0"):
        full_jitter(-1, 1.0, 60.0, random.Random(0))


@given(attempt=st.integers(0, 200), base=st.floats(0, 100), cap=st.floats(0, 1000),
       seed=st.integers(0, 2**32))
def test_full_jitter_never_leaves_its_window(attempt, base, cap, seed):
    wait = full_jitter(attempt, base, cap, random.Random(seed))
    assert 0.0 <= wait <= min(cap, base * 2.0 ** min(attempt, 1000))


# -- Retry-After -----------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("1.5", 1.5), ("-5", 0.0),
])
def test_retry_after_delta_seconds(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_http_date_in_the_future():
    value = email.utils.format_datetime(NOW + dt.timedelta(seconds=90), usegmt=True)
    assert value.endswith("GMT")
    assert parse_retry_after(value, NOW) == 90.0


@pytest.mark.parametrize("value", [
    "Thu, 02 Jan 2025 12:01:30 GMT",        # IMF-fixdate
    "Thursday, 02-Jan-25 12:01:30 GMT",     # obsolete RFC 850
    "Thu Jan  2 12:01:30 2025",             # obsolete asctime (no zone: UTC)
])
def test_retry_after_accepts_every_http_date_form(value):
    assert parse_retry_after(value, NOW) == 90.0


def test_retry_after_date_in_the_past_is_zero():
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:00 GMT", NOW) == 0.0


def test_retry_after_with_naive_now_is_taken_as_utc():
    assert parse_retry_after("Thu, 02 Jan 2025 12:00:10 GMT", NOW.replace(tzinfo=None)) == 10.0


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "12abc", "nan", "inf",
                                   "Thu, 32 Foo 2025 99:99:99 GMT", "1e999"])
def test_garbage_retry_after_is_none(value):
    assert parse_retry_after(value, NOW) is None


# -- next_wait -------------------------------------------------------------------------------
def test_429_waits_at_least_its_retry_after():
    rng = random.Random(7)
    for attempt in range(5):
        assert next_wait(POLICY_B, attempt, 30.0, rng) >= 30.0


def test_retry_after_is_capped():
    policy = ClassPolicy(base_seconds=0.0, cap_seconds=0.0, max_attempts=5,
                         retry_after_cap_seconds=600.0)
    assert next_wait(policy, 0, 86_400.0, random.Random(0)) == 600.0
    assert next_wait(policy, 0, 86_400.0, random.Random(0), retry_after_cap=5.0) == 5.0


def test_backoff_wins_over_a_short_retry_after():
    policy = ClassPolicy(base_seconds=100.0, cap_seconds=100.0, max_attempts=5)
    rng = random.Random(3)
    waits = [next_wait(policy, 0, 0.5, rng) for _ in range(200)]
    assert all(w >= 0.5 for w in waits) and max(waits) > 50


def test_without_retry_after_the_wait_is_the_jittered_backoff():
    a, b = random.Random(11), random.Random(11)
    assert next_wait(POLICY_B, 3, None, a) == full_jitter(3, 2.0, 120.0, b)
