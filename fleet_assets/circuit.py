"""Circuit state per target, read from the instance's run history.

Interface shared with the circuit-breaker work (issue 4), which replaces this module at
merge: ``circuit_state(instance, target)``, ``circuit_states(instance, targets)`` and
``CircuitState``. This minimal version derives the state from tags only: a target's circuit
is open when the latest run of one of its partitions carries ``fleet/circuit=open``
(``half_open`` likewise), and closed otherwise. Nothing is stored or counted here.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

CIRCUIT_TAG = "fleet/circuit"
CIRCUIT_REASON_TAG = "fleet/circuit_reason"
TARGET_TAG = "dagster/partition/target"
STATUSES = ("closed", "open", "half_open")


@dataclass(frozen=True)
class CircuitState:
    target: str
    status: str  # "closed" | "open" | "half_open"
    since: float | None
    reason: str
    evidence_partition: str | None


def circuit_state(instance: dg.DagsterInstance, target: str) -> CircuitState:
    records = instance.get_run_records(dg.RunsFilter(tags={TARGET_TAG: target}), limit=1)
    if not records:
        return CircuitState(target, "closed", None, "no runs yet", None)
    record = records[0]
    tags = record.dagster_run.tags
    status = tags.get(CIRCUIT_TAG, "closed")
    if status not in STATUSES or status == "closed":
        return CircuitState(target, "closed", None, "latest run did not open the circuit", None)
    since = record.start_time or record.create_timestamp.timestamp()
    reason = (tags.get(CIRCUIT_REASON_TAG)
              or f"latest run {record.dagster_run.run_id[:8]} set {CIRCUIT_TAG}={status}")
    return CircuitState(target, status, since, reason, tags.get("dagster/partition"))


def circuit_states(instance: dg.DagsterInstance, targets: Iterable[str]) -> dict[str, CircuitState]:
    return {t: circuit_state(instance, t) for t in targets}
