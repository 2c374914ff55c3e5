"""Launch offsets and recovery decisions (pure)."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet_assets.lib.scheduling import (
    daily_partition_date,
    decide_recovery,
    launch_offset_seconds,
    launch_time,
)


@given(st.text(min_size=1, max_size=30), st.integers(min_value=1, max_value=86_400))
def test_launch_offset_is_stable_and_inside_the_window(target, window):
    offset = launch_offset_seconds(target, window)
    assert 0 <= offset < window
    assert offset == launch_offset_seconds(target, window)


def test_launch_offsets_spread_targets_over_the_window():
    offsets = {launch_offset_seconds(f"target-{n}", 1800) for n in range(50)}
    assert len(offsets) >= 45  # 50 targets, 1800 slots: collisions are rare
    assert max(offsets) - min(offsets) > 1200


def test_launch_time_is_the_next_day_at_the_hour_plus_offset():
    when = launch_time("2025-06-10", "shop", 2, 1800)
    start = dt.datetime(2025, 6, 11, 2, tzinfo=dt.UTC)
    assert start <= when < start + dt.timedelta(seconds=1800)
    with pytest.raises(ValueError, match="launch_hour=24"):
        launch_time("2025-06-10", "shop", 24, 0)


def test_daily_partition_is_yesterday_in_utc():
    now = dt.datetime(2025, 6, 11, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert daily_partition_date(now) == "2025-06-09"  # 22:30 UTC on the 10th


@pytest.mark.parametrize("cls, due, used, launch, reason", [
    ("A", 100.0, 0, True, "recovery 1/3"),
    ("B", 100.0, 2, True, "recovery 3/3"),
    ("A", 300.0, 0, False, "backoff until"),
    ("A", 100.0, 3, False, "3/3 recoveries used"),
    ("C", 100.0, 0, False, "class C is not recovered"),
    ("D", 100.0, 0, False, "class D is not recovered"),
    (None, None, 0, False, "an unclassified failure is not recovered"),
])
def test_recovery_decision(cls, due, used, launch, reason):
    decision = decide_recovery(cls, due, used, 3, now=200.0)
    assert decision.launch is launch
    assert reason in decision.reason
    assert decision.recovery_number == (used + 1 if launch else 0)


def test_no_recovery_while_dagster_retries_the_run():
    decision = decide_recovery("A", 0.0, 0, 3, now=200.0, will_retry=True)
    assert not decision.launch and "run retries" in decision.reason
