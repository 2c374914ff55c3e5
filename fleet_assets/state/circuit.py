"""The per-target circuit breaker, derived from the Dagster instance (the glue of lib/circuit.py).

Nothing is kept in memory or in a side file. Every fact the circuit needs is an
``dg.AssetObservation`` on the one asset key ``fleet_circuit``, partitioned by target name,
written through public API and read back with ``instance.fetch_observations``:

* ``trip``: a blocking drift check failed with severity ERROR on a partition (written by the
  check, ``record_verdict``);
* ``pass``: a blocking check passed on a partition while the target's circuit was not
  closed, or on a partition whose latest recorded verdict for that check was a trip (only
  these passes change anything: the probe that closes, the re-run that clears a partition);
* ``reset``: ``fleet reset-circuit`` or the reset job.

A healthy fleet writes none of them, so deriving every target's state is one query over a
handful of rows, whatever the number of targets and days (``circuit_states``). The events
live in the instance's storage (SQLite locally, PostgreSQL in production), so every run and
machine sees the same state. Settings read: none.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from fleet_assets.automation.partitions import TARGETS_PARTITIONS, split
from fleet_assets.lib.circuit import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    RESET_JOB,
    CircuitState,
    Derived,
    Evaluation,
    Reset,
    derive,
    refusal,
)

__all__ = ["CircuitState", "circuit_state", "circuit_states", "derive_circuit", "guard",
           "record_verdict", "reset_circuit", "reset_circuit_job", "CLOSED", "OPEN", "HALF_OPEN"]

RECORDS = dg.AssetKey("extracted_records")
CIRCUIT = dg.AssetKey("fleet_circuit")
DRIFT_CHECK_NAMES = ("required_field_coverage", "schema_drift", "min_records", "volume_anomaly")
TRIP, PASS, RESET = "trip", "pass", "reset"
_PAGE = 1000


@dataclass(frozen=True)
class CircuitEvent:
    """One recorded circuit fact of one target (an observation on ``fleet_circuit``)."""

    kind: str  # trip | pass | reset
    target: str
    storage_id: int
    timestamp: float
    partition: str = ""  # date|target of the evaluated partition (trip, pass)
    check: str = ""
    description: str = ""
    by: str = ""  # who reset
    evidence: dict[str, Any] = field(default_factory=dict)

    def evaluation(self) -> Evaluation:
        return Evaluation(partition=self.partition, check=self.check, passed=self.kind == PASS,
                          severity="ERROR", storage_id=self.storage_id, timestamp=self.timestamp,
                          description=self.description, evidence=self.evidence)


def _event(record: dg.EventLogRecord) -> CircuitEvent | None:
    obs = record.asset_observation
    if obs is None or not record.partition_key:
        return None
    meta = {k: v.value for k, v in obs.metadata.items()}
    kind = str(meta.get("action", ""))
    if kind not in (TRIP, PASS, RESET):
        return None
    evidence = meta.get("evidence")
    return CircuitEvent(
        kind=kind, target=record.partition_key, storage_id=record.storage_id,
        timestamp=record.timestamp, partition=str(meta.get("partition", "")),
        check=str(meta.get("check", "")), description=str(meta.get("summary", "")),
        by=str(meta.get("by", "")), evidence=dict(evidence) if isinstance(evidence, dict) else {},
    )


def circuit_events(instance: dg.DagsterInstance,
                   target: str | None = None) -> dict[str, list[CircuitEvent]]:
    """Every circuit event (of one target, or of all), oldest first, by target."""
    records_filter = dg.AssetRecordsFilter(asset_key=CIRCUIT,
                                           asset_partitions=[target] if target else None)
    by_target: dict[str, list[CircuitEvent]] = {}
    cursor = None
    while True:
        result = instance.fetch_observations(records_filter, limit=_PAGE, cursor=cursor,
                                             ascending=True)
        for record in result.records:
            event = _event(record)
            if event is not None:
                by_target.setdefault(event.target, []).append(event)
        if not result.has_more:
            return by_target
        cursor = result.cursor


def _derive(target: str, events: list[CircuitEvent]) -> Derived:
    resets = [e for e in events if e.kind == RESET]
    last = resets[-1] if resets else None
    reset = Reset(last.storage_id, last.timestamp, last.by) if last else None
    evaluations = [e.evaluation() for e in events if e.kind != RESET]
    return derive(target, evaluations, reset)


def derive_circuit(instance: dg.DagsterInstance, target: str) -> Derived:
    """The state with its opening identity and the evaluation that opened it."""
    return _derive(target, circuit_events(instance, target).get(target, []))


def circuit_state(instance: dg.DagsterInstance, target: str) -> CircuitState:
    return derive_circuit(instance, target).state


def circuit_states(instance: dg.DagsterInstance, targets: Iterable[str]) -> dict[str, CircuitState]:
    """Every target's state from one read of the circuit events (a handful in a healthy fleet)."""
    events = circuit_events(instance)
    return {t: _derive(t, events.get(t, [])).state for t in dict.fromkeys(targets)}


def genesis(instance: dg.DagsterInstance, target: str) -> tuple[int, float]:
    """Storage id and time of the target's first materialized records in this instance."""
    partitions = [k for k in instance.get_materialized_partitions(RECORDS)
                  if k.endswith(f"|{target}")]
    if not partitions:
        return (0, 0.0)
    first = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RECORDS, asset_partitions=partitions), limit=1,
        ascending=True).records
    return (first[0].storage_id, first[0].timestamp) if first else (0, 0.0)


def opening_key(instance: dg.DagsterInstance, derived: Derived) -> str:
    """The identity of the opening ``derived`` is in (or that a failure now would start)."""
    if derived.reset is not None:
        return derived.opening_key()
    return derived.opening_key(genesis(instance, derived.state.target))


def _latest_verdicts(events: Iterable[CircuitEvent], partition: str) -> dict[str, CircuitEvent]:
    latest: dict[str, CircuitEvent] = {}
    for event in events:
        if event.kind != RESET and event.partition == partition:
            latest[event.check] = event  # oldest first: the last one wins
    return latest


def failed_checks(instance: dg.DagsterInstance, partition: str) -> list[Evaluation]:
    """The blocking drift checks whose latest recorded verdict on a partition is a trip."""
    target = partition.rsplit("|", 1)[-1]
    events = circuit_events(instance, target).get(target, [])
    return [e.evaluation() for e in _latest_verdicts(events, partition).values() if e.kind == TRIP]


def record_verdict(log_event: Callable[[dg.AssetObservation], Any], instance: dg.DagsterInstance,
                   partition: str, check: str, passed: bool, severity: str,
                   summary: str = "", evidence: dict[str, Any] | None = None) -> str | None:
    """Record what a blocking check's verdict means for the circuit; returns the kind written.

    An ERROR failure is always a trip. A pass is written only when it can matter (see the
    module docstring), which keeps the events few; a WARN failure never trips.
    """
    target = partition.rsplit("|", 1)[-1]
    if not passed and severity != "ERROR":
        return None
    if passed:
        events = circuit_events(instance, target).get(target, [])
        previous = _latest_verdicts(events, partition).get(check)
        if _derive(target, events).state.status == CLOSED and (
                previous is None or previous.kind != TRIP):
            return None
    kind = PASS if passed else TRIP
    metadata: dict[str, Any] = {"action": kind, "partition": partition, "check": check,
                                "summary": summary}
    if evidence:
        metadata["evidence"] = dg.MetadataValue.json(evidence)
    log_event(dg.AssetObservation(asset_key=CIRCUIT, partition=target, metadata=metadata,
                                  description=f"{check} {'passed' if passed else 'failed'} on "
                                  f"{partition}"))
    return kind


def guard(context: dg.AssetExecutionContext, upstream_checks: bool = False) -> None:
    """Fail fast when the partition's target is open (or, for aggregates, its records drifted)."""
    date, target = split(context)
    what = f"{context.asset_key.to_user_string()} {date}|{target}"
    state = circuit_state(context.instance, target)
    if state.status == OPEN:
        raise dg.Failure(description=refusal(state, what), allow_retries=False,
                         metadata={"circuit": OPEN, "evidence_partition": str(state.evidence_partition)})
    if state.status == HALF_OPEN:
        context.log.warning(f"circuit for {target} is half-open: {what} is the probe")
    if upstream_checks:
        failed = failed_checks(context.instance, f"{date}|{target}")
        if failed:
            names = ", ".join(e.check for e in failed)
            raise dg.Failure(
                description=f"refusing {what}: blocking check(s) {names} failed on the records of "
                f"this partition, so no aggregate may be written from them; re-materialize "
                f"extracted_records for {date}|{target} once the rules are fixed",
                allow_retries=False,
            )


def reset_observation(target: str, previous: CircuitState, by: str, note: str) -> dg.AssetObservation:
    return dg.AssetObservation(
        asset_key=CIRCUIT,
        partition=target,
        description=f"circuit of {target} reset to half-open (was {previous.status})",
        metadata={
            "action": RESET,
            "by": by,
            "note": note,
            "previous_status": previous.status,
            "previous_reason": previous.reason,
            "previous_evidence_partition": str(previous.evidence_partition or ""),
        },
    )


def known_targets(instance: dg.DagsterInstance) -> list[str]:
    return sorted(instance.get_dynamic_partitions(TARGETS_PARTITIONS))


def check_target_known(instance: dg.DagsterInstance, target: str) -> None:
    known = known_targets(instance)
    if target not in known:
        raise ValueError(
            f"target {target!r} is not a registered target partition (known: "
            f"{', '.join(known) or 'none'}); check the spelling, or register it first "
            "(README, section Targets)"
        )


def reset_circuit(instance: dg.DagsterInstance, target: str, by: str = "cli",
                  note: str = "") -> CircuitState:
    """Record a reset (the circuit goes half-open); returns the new state."""
    check_target_known(instance, target)
    previous = circuit_state(instance, target)
    instance.report_runless_asset_event(reset_observation(target, previous, by, note))
    return circuit_state(instance, target)


class ResetCircuitConfig(dg.Config):
    target: str
    note: str = ""


@dg.op(description="Move a target's circuit to half-open: its next partition is a probe.")
def reset_target_circuit(context: dg.OpExecutionContext, config: ResetCircuitConfig) -> None:
    try:
        check_target_known(context.instance, config.target)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    previous = circuit_state(context.instance, config.target)
    context.log_event(reset_observation(config.target, previous,
                                        f"run {context.run_id[:8]}", config.note))
    context.log.info(f"circuit for {config.target}: {previous.status} -> half_open at "
                     f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")


@dg.job(name=RESET_JOB, tags={"fleet/kind": "circuit-reset"},
        description="Reset a target's drift circuit (config: target). Fix targets.yaml first.")
def reset_circuit_job() -> None:
    reset_target_circuit()
