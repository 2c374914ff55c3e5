"""The circuit: lib/circuit.py's pure rules, and state/circuit.py's events in an instance."""

from __future__ import annotations

import dagster as dg
from hypothesis import given
from hypothesis import strategies as st

from fleet_assets.automation.partitions import TARGETS_PARTITIONS
from fleet_assets.lib.circuit import CLOSED, HALF_OPEN, OPEN, Evaluation, Reset, derive, refusal
from fleet_assets.state import circuit


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


def test_the_instance_circuit_records_only_the_verdicts_that_matter():
    """state/circuit.py: trips always, passes only when they can change something."""
    def verdict(instance, date, passed, severity="ERROR", check="schema_drift"):
        return circuit.record_verdict(instance.report_runless_asset_event, instance,
                                      f"{date}|shop", check, passed, severity, "summary")

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["shop", "news"])
        assert verdict(instance, "2025-06-09", True) is None  # closed, clean: nothing written
        assert verdict(instance, "2025-06-09", False, severity="WARN") is None
        assert circuit.circuit_events(instance) == {}
        assert verdict(instance, "2025-06-10", False) == "trip"
        assert verdict(instance, "2025-06-11", True) == "pass"  # while open: kept, not closing
        assert circuit.circuit_state(instance, "shop").status == OPEN
        assert circuit.circuit_states(instance, ["shop", "news"])["news"].status == CLOSED
        assert [e.check for e in circuit.failed_checks(instance, "2025-06-10|shop")] == ["schema_drift"]
        assert circuit.reset_circuit(instance, "shop", by="test").status == HALF_OPEN
        assert verdict(instance, "2025-06-12", True) == "pass"  # the probe closes it
        state = circuit.circuit_state(instance, "shop")
        assert state.status == CLOSED and "2025-06-12|shop" in state.reason
        # closed again, the drifted day re-materialized with fixed rules: its pass clears it
        assert verdict(instance, "2025-06-10", True) == "pass"
        assert circuit.failed_checks(instance, "2025-06-10|shop") == []
        assert verdict(instance, "2025-06-13", True) is None
        assert [e.kind for e in circuit.circuit_events(instance)["shop"]] == [
            "trip", "pass", "reset", "pass", "pass"]
