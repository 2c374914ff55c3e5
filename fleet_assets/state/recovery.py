"""What the recovery sensor needs: partitions whose newest run failed, and how.

The run, its ``raw_pages`` step failure (``failure_class`` and ``due_at`` from the
``dg.Failure`` metadata) and the recovery runs already launched for it (runs tagged
``fleet/recovery``), read with two batched run queries and one read of each current
failure's own events. Settings read: none.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from fleet_assets.lib.failures import FailureClass
from fleet_assets.lib.health import class_of
from fleet_assets.state.history import (
    DATE_TAG,
    PARTITION_TAG,
    RECOVERY_TAG,
    TARGET_TAG,
    number,
)


@dataclass(frozen=True)
class FailedPartition:
    """A partition whose newest run failed, with its ``raw_pages`` failure if it had one."""

    key: str
    date: str
    target: str
    run: dg.RunRecord
    failed_in_raw_pages: bool
    failure_class: FailureClass | None
    due_at: float | None
    recoveries: int


def _step_failure(instance: dg.DagsterInstance, run_id: str,
                  step_key: str) -> Mapping[str, object] | None:
    """Metadata of the run's ``step_key`` failure (the ``dg.Failure`` it raised), if it failed."""
    # Read per run: on sharded SQLite a cross-run query of step events opens every run's file.
    for entry in reversed(instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)):
        event = entry.dagster_event
        if event is None or event.step_key != step_key:
            continue
        data = event.step_failure_data.user_failure_data
        return {k: v.value for k, v in (data.metadata if data else {}).items()}
    return None


def failed_partitions(instance: dg.DagsterInstance, lookback_runs: int = 500,
                      step_key: str = "raw_pages") -> list[FailedPartition]:
    """Partitions whose newest run is one of the ``lookback_runs`` newest failed runs.

    Two queries whatever their number (the failed runs; every run of their partitions, for
    newer runs and recovery counts), then one read of each current failure's own events.
    """
    newest_failed: dict[str, dg.RunRecord] = {}
    for record in instance.get_run_records(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=lookback_runs):
        tags = record.dagster_run.tags
        key = tags.get(PARTITION_TAG)
        if key and TARGET_TAG in tags and DATE_TAG in tags:
            newest_failed.setdefault(key, record)
    if not newest_failed:
        return []
    latest: dict[str, str] = {}
    recoveries: dict[str, int] = {}
    for record in instance.get_run_records(dg.RunsFilter(tags={PARTITION_TAG: list(newest_failed)})):
        tags = record.dagster_run.tags
        key = tags[PARTITION_TAG]
        latest.setdefault(key, record.dagster_run.run_id)
        recoveries[key] = recoveries.get(key, 0) + (tags.get(RECOVERY_TAG) == "true")
    stale = {k for k, r in newest_failed.items() if latest.get(k) != r.dagster_run.run_id}
    current = {k: r for k, r in newest_failed.items() if k not in stale}
    if not current:
        return []
    out = []
    for key, record in current.items():
        meta = _step_failure(instance, record.dagster_run.run_id, step_key)
        cls = meta.get("failure_class") if meta else None
        tags = record.dagster_run.tags
        out.append(FailedPartition(key, tags[DATE_TAG], tags[TARGET_TAG], record, meta is not None,
                                   class_of(cls),
                                   number(meta.get("due_at")) if meta else None,
                                   recoveries.get(key, 0)))
    return out
