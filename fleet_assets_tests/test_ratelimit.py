"""The per-host policy (concurrency, rate, shared backoff) as pure decisions on a fake clock."""

from __future__ import annotations

import pytest

from fleet_assets.lib.crawl.ratelimit import (
    Backoff,
    Busy,
    Grant,
    HostState,
    Limits,
    grant,
    release,
)

LIMITS = Limits(max_concurrency=3, min_interval=0.1, lease_seconds=30.0)
BACKOFF = Backoff(trip_after=3, base=1.0, cap=8.0)


def ask(state: HostState, now: float, lease: str, limits: Limits = LIMITS,
        horizon: float = 10.0) -> tuple[HostState, Grant | Busy]:
    d = grant(state, now, limits, lease, horizon=horizon, poll=0.05)
    return d.state, d.answer


def test_starts_are_spaced_by_the_rate_whoever_asks():
    state, starts = HostState(), []
    for n in range(3):
        state, answer = ask(state, 0.0, f"l{n}")
        assert isinstance(answer, Grant)
        starts.append(answer.wait)
    assert starts == pytest.approx([0.0, 0.1, 0.2])


def test_no_more_leases_than_max_concurrency_until_one_is_released():
    state = HostState()
    for n in range(3):
        state, answer = ask(state, 0.0, f"l{n}", Limits(3))
        assert isinstance(answer, Grant)
    state, answer = ask(state, 0.0, "l3", Limits(3))
    assert isinstance(answer, Busy) and "3 request(s) in flight" in answer.reason
    state = release(state, 0.01, "l1", "ok", BACKOFF)
    state, answer = ask(state, 0.01, "l3", Limits(3))
    assert isinstance(answer, Grant)


def test_a_dead_workers_lease_expires():
    state, _ = ask(HostState(), 0.0, "dead", Limits(1, lease_seconds=30.0))
    state, answer = ask(state, 29.0, "alive", Limits(1, lease_seconds=30.0))
    assert isinstance(answer, Busy) and answer.retry_in <= 1.0
    state, answer = ask(state, 30.5, "alive", Limits(1, lease_seconds=30.0))
    assert isinstance(answer, Grant)
    assert [i for i, _ in state.leases] == ["alive"]


def test_a_rate_slot_beyond_the_horizon_is_not_booked():
    state = HostState(next_start=5.0)
    after, answer = ask(state, 0.0, "late", horizon=2.0)
    assert isinstance(answer, Busy) and answer.retry_in == pytest.approx(5.0)
    assert after.next_start == 5.0 and after.leases == ()


def test_the_strictest_caller_sees_every_callers_requests():
    """Two targets on one host: a caller allowed 2 waits while the other holds 2 leases."""
    state, _ = ask(HostState(), 0.0, "a1", Limits(4))
    state, _ = ask(state, 0.0, "a2", Limits(4))
    state, answer = ask(state, 0.0, "b1", Limits(2))
    assert isinstance(answer, Busy)


def failing(state: HostState, now: float, n: int) -> HostState:
    for k in range(n):
        state, answer = ask(state, now, f"f{now}-{k}", Limits(8))
        assert isinstance(answer, Grant)
        state = release(state, now, f"f{now}-{k}", "host_error", BACKOFF)
    return state


def test_failures_in_a_row_close_the_host_for_everyone():
    state = failing(HostState(), 0.0, 2)
    assert state.trips == 0 and state.failures == 2
    state = failing(state, 0.0, 1)
    assert state.trips == 1 and state.closed_until == pytest.approx(1.0)
    _, answer = ask(state, 0.5, "other-run", Limits(8))
    assert isinstance(answer, Busy) and answer.retry_in == pytest.approx(0.5)


def test_a_success_between_failures_keeps_the_host_open():
    state = failing(HostState(), 0.0, 2)
    state, _ = ask(state, 0.0, "ok", Limits(8))
    state = release(state, 0.0, "ok", "ok", BACKOFF)
    state = failing(state, 0.0, 2)
    assert state.trips == 0


def test_after_the_backoff_one_probe_goes_and_the_others_wait():
    state = failing(HostState(), 0.0, 3)
    state, probe = ask(state, 1.0, "probe", Limits(8))
    assert isinstance(probe, Grant) and probe.probe
    state, other = ask(state, 1.0, "other", Limits(8))
    assert isinstance(other, Busy) and "probe" in other.reason


def test_a_failed_probe_doubles_the_backoff_up_to_the_cap():
    state = failing(HostState(), 0.0, 3)
    closed = []
    now = 0.0
    for n in range(6):
        now = state.closed_until
        state, probe = ask(state, now, f"p{n}", Limits(8))
        assert isinstance(probe, Grant) and probe.probe
        state = release(state, now, f"p{n}", "host_error", BACKOFF)
        closed.append(state.closed_until - now)
    assert closed == pytest.approx([2.0, 4.0, 8.0, 8.0, 8.0, 8.0])


def test_a_good_probe_reopens_the_host_and_waiters_resume_at_the_rate():
    state = failing(HostState(), 0.0, 3)
    state, probe = ask(state, 1.0, "probe", Limits(8, min_interval=0.1))
    state = release(state, 1.05, "probe", "ok", BACKOFF)
    assert state.trips == 0
    waits = []
    for n in range(5):
        state, answer = ask(state, 1.05, f"w{n}", Limits(8, min_interval=0.1))
        assert isinstance(answer, Grant)
        waits.append(round(answer.wait, 3))
    assert waits == pytest.approx([0.05, 0.15, 0.25, 0.35, 0.45])  # no herd: one per interval


def test_failures_of_requests_sent_before_the_host_closed_do_not_extend_it():
    state = failing(HostState(), 0.0, 3)
    state = release(state, 0.2, "late-straggler", "host_error", BACKOFF)
    assert state.trips == 1 and state.closed_until == pytest.approx(1.0)


def test_state_round_trips_through_json():
    state = failing(HostState(next_start=3.5), 0.0, 3)
    state, _ = ask(state, 1.0, "probe", Limits(8))
    assert HostState.from_json(state.to_json()) == state


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"max_concurrency": 0}, "max_concurrency"),
    ({"max_concurrency": 2, "min_interval": -1.0}, "min_interval"),
    ({"max_concurrency": 2, "min_interval": float("nan")}, "min_interval"),
])
def test_bad_limits_are_rejected_with_the_setting_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Limits(**kwargs)


def test_politeness_becomes_limits_and_crawl_delay_only_slows_down():
    assert Limits.for_politeness(3, 10.0).min_interval == pytest.approx(0.1)
    assert Limits.for_politeness(3, 10.0, crawl_delay=2.0).min_interval == 2.0
    assert Limits.for_politeness(3, 0.0).min_interval == 0.0
    with pytest.raises(ValueError, match="requests_per_second"):
        Limits.for_politeness(3, -1.0)
