"""What the Dagster instance remembers about each partition: its runs and step outcomes.

Shared by the recovery sensor, the ``fleet_health`` asset and ``fleet status``. Everything
is derived from run records (tags) and event logs; nothing here writes to the instance.

- the latest run of a partition and its status; whether it is a recovery run (tag
  ``fleet/recovery``) and how many recovery runs the partition had (a run count by tags)
- the ``raw_pages`` step failure of a failed run: ``failure_class`` and ``due_at`` from the
  metadata of the ``dg.Failure`` raised in ``assets/raw_pages.py``
- page outcome counts per class from the latest materialization or failure metadata
  (``outcome_ok/A/B/D`` of raw_pages, ``outcome_C`` of extracted_records); a failure
  without page counts (the listing itself failed) counts as one page of its class
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dagster as dg

from fleet_assets.lib.health import PartitionObservation

RECOVERY_TAG = "fleet/recovery"
RECOVERY_NUMBER_TAG = "fleet/recovery_number"
PARTITION_TAG = "dagster/partition"
TARGET_TAG = "dagster/partition/target"
DATE_TAG = "dagster/partition/date"
WILL_RETRY_TAG = "dagster/will_retry"

_STATUS = {
    dg.DagsterRunStatus.QUEUED: "queued", dg.DagsterRunStatus.NOT_STARTED: "queued",
    dg.DagsterRunStatus.STARTING: "started", dg.DagsterRunStatus.STARTED: "started",
    dg.DagsterRunStatus.CANCELING: "started", dg.DagsterRunStatus.SUCCESS: "success",
    dg.DagsterRunStatus.FAILURE: "failure", dg.DagsterRunStatus.CANCELED: "canceled",
}


@dataclass(frozen=True)
class StepFailure:
    step_key: str
    failure_class: str | None
    due_at: float | None
    outcomes: Mapping[str, int]


def latest_runs_by_partition(instance: dg.DagsterInstance, target: str,
                             limit: int = 1000) -> dict[str, dg.RunRecord]:
    """The newest run of each partition of ``target`` (date -> run record)."""
    latest: dict[str, dg.RunRecord] = {}
    for record in instance.get_run_records(dg.RunsFilter(tags={TARGET_TAG: target}), limit=limit):
        date = record.dagster_run.tags.get(DATE_TAG)
        if date and date not in latest:  # records come newest first
            latest[date] = record
    return latest


def recovery_count(instance: dg.DagsterInstance, partition: str) -> int:
    return instance.get_runs_count(dg.RunsFilter(tags={PARTITION_TAG: partition, RECOVERY_TAG: "true"}))


def step_failure(instance: dg.DagsterInstance, run_id: str,
                 step_key: str = "raw_pages") -> StepFailure | None:
    """The failure of ``step_key`` in ``run_id`` with the metadata its ``dg.Failure`` carried."""
    for entry in reversed(instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)):
        event = entry.dagster_event
        if event is None or event.step_key != step_key:
            continue
        data = event.step_failure_data.user_failure_data
        metadata = {k: v.value for k, v in (data.metadata if data else {}).items()}
        cls = metadata.get("failure_class")
        due = metadata.get("due_at")
        return StepFailure(step_key, str(cls) if cls else None,
                           float(due) if isinstance(due, int | float) else None,
                           _outcomes(metadata))
    return None


def _outcomes(metadata: Mapping[str, object]) -> dict[str, int]:
    out = {}
    for label in ("ok", "A", "B", "C", "D"):
        value = metadata.get(f"outcome_{label}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[label] = int(value)
    return out


def _latest_materializations(instance: dg.DagsterInstance, asset: str,
                             limit: int = 5000) -> dict[str, dg.EventLogRecord]:
    latest: dict[str, dg.EventLogRecord] = {}
    result = instance.fetch_materializations(dg.AssetKey(asset), limit=limit)
    for record in result.records:
        if record.partition_key and record.partition_key not in latest:
            latest[record.partition_key] = record
    return latest


def _metadata(record: dg.EventLogRecord | None) -> dict[str, object]:
    if record is None or record.asset_materialization is None:
        return {}
    return {k: v.value for k, v in record.asset_materialization.metadata.items()}


def observations(instance: dg.DagsterInstance, targets: Iterable[str],
                 recent_dates: int = 7) -> dict[str, list[PartitionObservation]]:
    """Per target, its ``recent_dates`` newest partitions that have a run, newest first."""
    raw = _latest_materializations(instance, "raw_pages")
    records = _latest_materializations(instance, "extracted_records")
    out: dict[str, list[PartitionObservation]] = {}
    for target in targets:
        runs = latest_runs_by_partition(instance, target)
        obs = []
        for date in sorted(runs, reverse=True)[:recent_dates]:
            run = runs[date]
            key = run.dagster_run.tags.get(PARTITION_TAG, f"{date}|{target}")
            status = _STATUS.get(run.dagster_run.status, "started")
            failure = step_failure(instance, run.dagster_run.run_id) if status == "failure" else None
            raw_record = raw.get(key)
            outcomes = dict(_outcomes(_metadata(raw_record)))
            if failure is not None and (raw_record is None or raw_record.run_id != run.dagster_run.run_id):
                outcomes = dict(failure.outcomes)  # the failed attempt is newer than any success
                if failure.failure_class and not outcomes.get(failure.failure_class):
                    outcomes[failure.failure_class] = 1  # a failed listing: one page, no counts
            outcomes["C"] = _outcomes(_metadata(records.get(key))).get("C", 0)
            obs.append(PartitionObservation(
                date=date,
                run_status=status,
                is_recovery=run.dagster_run.tags.get(RECOVERY_TAG) == "true",
                failure_class=failure.failure_class if failure else None,
                recoveries=recovery_count(instance, key),
                outcomes=outcomes,
                succeeded_at=raw_record.timestamp if raw_record is not None else None,
            ))
        out[target] = obs
    return out
