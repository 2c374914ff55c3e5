"""lib/circuit.py: the circuit state as a pure function of check evaluations and resets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fleet_assets.lib.circuit import CLOSED, HALF_OPEN, OPEN, Evaluation, Reset, derive, refusal


def ev(storage_id, passed, partition="2025-06-10|shop", severity="ERROR", check="schema_drift"):
    return Evaluation(partition=partition, check=check, passed=passed, severity=severity,
                      storage_id=storage_id, timestamp=1000.0 + storage_id,
                      description="fields gone" if not passed else "ok")


def test_no_verdict_and_passing_checks_leave_the_circuit_closed():
    assert derive("shop", [], None).state.status == CLOSED
    assert derive("shop", [ev(1, True), ev(2, True)], None).state.status == CLOSED


def test_an_error_failure_opens_with_since_reason_and_evidence_partition():
    d = derive("shop", [ev(1, True), ev(5, False, "2025-06-12|shop"), ev(7, False, "2025-06-13|shop")],
               None)
    assert d.state.status == OPEN and d.state.since == 1005.0
    assert d.state.evidence_partition == "2025-06-12|shop"
    assert "schema_drift" in d.state.reason and "fields gone" in d.state.reason
    assert d.opening_key((3, 1.5)) == "shop@g3-1500" and d.opened_by.storage_id == 5


def test_a_warn_failure_never_opens():
    assert derive("shop", [ev(3, False, severity="WARN")], None).state.status == CLOSED


def test_passing_checks_do_not_close_an_open_circuit():
    assert derive("shop", [ev(3, False), ev(4, True), ev(9, True)], None).state.status == OPEN


def test_a_reset_makes_it_half_open_until_the_probe_decides():
    reset = Reset(storage_id=10, timestamp=2000.0, by="cli")
    half = derive("shop", [ev(3, False)], reset)
    assert half.state.status == HALF_OPEN and half.state.since == 2000.0
    closed = derive("shop", [ev(3, False), ev(12, True, "2025-06-14|shop")], reset)
    assert closed.state.status == CLOSED and "2025-06-14|shop" in closed.state.reason
    reopened = derive("shop", [ev(3, False), ev(12, False, "2025-06-14|shop")], reset)
    assert reopened.state.status == OPEN and "probe after reset" in reopened.state.reason
    assert reopened.state.evidence_partition == "2025-06-14|shop"
    assert reopened.opening_key() == "shop@r10-2000000"
    assert closed.opening_key() == reopened.opening_key() == half.opening_key()
    assert reopened.opening_key() != derive("shop", [ev(3, False)], None).opening_key()


def test_a_failure_after_a_passed_probe_opens_a_new_period():
    reset = Reset(storage_id=10, timestamp=2000.0)
    d = derive("shop", [ev(12, True), ev(15, False, "2025-06-20|shop")], reset)
    assert d.state.status == OPEN and "probe after reset" not in d.state.reason


def test_the_refusal_says_how_to_reset():
    state = derive("shop", [ev(5, False)], None).state
    message = refusal(state, "raw_pages 2025-06-13|shop")
    assert "fleet reset-circuit shop" in message and "reset_circuit" in message
    assert "targets.yaml" in message and "2025-06-10|shop" in message


events = st.lists(st.tuples(st.booleans(), st.sampled_from(["ERROR", "WARN"])), max_size=12)


@given(events, st.one_of(st.none(), st.integers(min_value=0, max_value=12)))
def test_open_iff_an_error_failed_after_the_last_reset(verdicts, reset_at):
    evaluations = [ev(i + 1, passed, severity=sev) for i, (passed, sev) in enumerate(verdicts)]
    reset = None if reset_at is None else Reset(storage_id=reset_at, timestamp=1.0)
    after = [e for e in evaluations if e.storage_id > (reset_at or 0)]
    state = derive("t", list(reversed(evaluations)), reset).state
    assert (state.status == OPEN) == any(e.trips for e in after)
    if state.status != OPEN:
        expected = CLOSED if reset is None or any(e.passed for e in after) else HALF_OPEN
        assert state.status == expected
