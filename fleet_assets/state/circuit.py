"""The per-target circuit breaker, derived from the Dagster instance (the glue of lib/circuit.py).

Nothing is kept in memory or in a side file: ``circuit_state`` reads the latest completed
evaluation of each blocking drift check of ``extracted_records`` for the target's materialized
partitions and the latest reset observation (asset key ``fleet_circuit/<target>``), all in the
instance's storage (SQLite locally, PostgreSQL in production), so every run and machine sees
the same state. Sensors (issue 5) import ``circuit_state`` / ``circuit_states`` to skip open targets.
"""

import time
from collections.abc import Iterable

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)

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
           "reset_circuit", "reset_circuit_job", "CLOSED", "OPEN", "HALF_OPEN"]

RECORDS = dg.AssetKey("extracted_records")
DRIFT_CHECK_NAMES = ("required_field_coverage", "schema_drift", "volume_anomaly")
_COMPLETED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def circuit_key(target: str) -> dg.AssetKey:
    return dg.AssetKey(["fleet_circuit", target])


def _check_keys() -> list[dg.AssetCheckKey]:
    return [dg.AssetCheckKey(RECORDS, name) for name in DRIFT_CHECK_NAMES]


def _latest_completed(instance: dg.DagsterInstance, key: dg.AssetCheckKey,
                      partition: str) -> AssetCheckExecutionRecord | None:
    rows = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=1, status=_COMPLETED, partition_filter=PartitionKeyFilter(key=partition))
    return rows[0] if rows and rows[0].event is not None else None


def _evaluation(record: AssetCheckExecutionRecord, storage_id: int) -> Evaluation:
    entry = record.event
    assert entry is not None and entry.dagster_event is not None
    data = entry.dagster_event.event_specific_data
    metadata = {k: v.value for k, v in data.metadata.items()}
    return Evaluation(
        partition=record.partition or "",
        check=record.key.name,
        passed=bool(data.passed),
        severity=data.severity.value,
        storage_id=storage_id,
        timestamp=entry.timestamp,
        description=str(data.description or metadata.get("summary", "")),
        evidence=metadata,
    )


def _last_reset(instance: dg.DagsterInstance, target: str) -> Reset | None:
    result = instance.fetch_observations(circuit_key(target), limit=1)
    if not result.records:
        return None
    record = result.records[0]
    obs = record.asset_observation
    by = obs.metadata.get("by") if obs else None
    return Reset(record.storage_id, record.timestamp, str(by.value) if by else "")


def _partition_infos(instance: dg.DagsterInstance, targets: Iterable[str],
                     after: int | None) -> dict[str, list]:
    """Latest check execution per drift check per materialized partition, by target."""
    wanted = set(targets)
    # A check only yields a verdict on a materialized partition, so these are all that count.
    partitions = [k for k in instance.get_materialized_partitions(RECORDS)
                  if k.rsplit("|", 1)[-1] in wanted]
    by_target: dict[str, list] = {t: [] for t in wanted}
    if partitions:
        for info in instance.event_log_storage.get_asset_check_partition_info(
                _check_keys(), after_storage_id=after, partition_keys=partitions):
            by_target[str(info.partition_key).rsplit("|", 1)[-1]].append(info)
    return by_target


def derive_circuit(instance: dg.DagsterInstance, target: str) -> Derived:
    """The state with its opening identity and the evaluation that opened it."""
    reset = _last_reset(instance, target)
    infos = _partition_infos(instance, [target], reset.storage_id if reset else None)
    return _derive(instance, target, reset, infos[target])


def _derive(instance: dg.DagsterInstance, target: str, reset: Reset | None,
            infos: list) -> Derived:
    after = reset.storage_id if reset else 0
    evaluations, passes = [], []
    for info in infos:
        status, storage_id = info.latest_execution_status, info.latest_check_event_storage_id
        if storage_id <= after:
            continue
        if status is AssetCheckExecutionRecordStatus.SUCCEEDED:
            if reset:  # a pass matters only after a reset: it is what closes the circuit
                passes.append(info)
            continue
        record = _latest_completed(instance, info.check_key, str(info.partition_key))
        if record is None:
            continue
        if status is AssetCheckExecutionRecordStatus.PLANNED:
            # The latest execution is planned (running, or skipped by a refused run); the
            # completed one before it has no storage id here, so place it by its timestamp.
            assert record.event is not None
            if reset and record.event.timestamp <= reset.timestamp:
                continue
        evaluations.append(_evaluation(record, storage_id))
    if passes:
        # Only the first pass after the reset is read in full: its time is when the probe
        # closed the circuit; the others count by their storage ids alone.
        first = min(passes, key=lambda i: i.latest_check_event_storage_id)
        record = _latest_completed(instance, first.check_key, str(first.partition_key))
        closed_at = record.event.timestamp if record and record.event else 0.0
        evaluations += [
            Evaluation(partition=str(i.partition_key), check=i.check_key.name, passed=True,
                       severity="ERROR", storage_id=i.latest_check_event_storage_id,
                       timestamp=closed_at)
            for i in passes
        ]
    return derive(target, evaluations, reset)


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


def circuit_state(instance: dg.DagsterInstance, target: str) -> CircuitState:
    return derive_circuit(instance, target).state


def circuit_states(instance: dg.DagsterInstance, targets: Iterable[str]) -> dict[str, CircuitState]:
    """Every target's state, reading the check history of all of them in one pass."""
    resets = {t: _last_reset(instance, t) for t in dict.fromkeys(targets)}
    oldest = min((r.storage_id if r else 0 for r in resets.values()), default=0)
    infos = _partition_infos(instance, resets, oldest or None)
    return {t: _derive(instance, t, reset, infos[t]).state for t, reset in resets.items()}


def failed_checks(instance: dg.DagsterInstance, partition: str) -> list[Evaluation]:
    """The blocking drift checks whose latest completed evaluation of a partition failed."""
    failed = []
    for key in _check_keys():
        record = _latest_completed(instance, key, partition)
        if record is not None:
            evaluation = _evaluation(record, 0)
            if evaluation.trips:
                failed.append(evaluation)
    return failed


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
        asset_key=circuit_key(target),
        description=f"circuit reset to half-open (was {previous.status})",
        metadata={
            "action": "reset",
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
