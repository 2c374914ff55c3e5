"""What the Dagster instance remembers about each partition, kept per target so it reads flat.

Every end of a ``raw_pages`` or ``extracted_records`` step attempt (success, in-run retry,
failure) is reported by ``reports_attempts`` as one ``dg.AssetObservation`` on the target's
own asset key ``fleet/targets/<target>``, partition = the date. Its numeric metadata is the
partition's ledger of attempts from the manifest (``attempts_ok/A/B/C/D``: every attempt of
every URL, across step attempts and runs) and, from records, ``pages_C``; the Dagster UI
plots these per target over time. ``observations`` derives what ``fleet_health`` and
``fleet status`` show from these events plus the runs still in flight, with one indexed
query per target and one for the in-flight runs, whatever the history's length.

The recovery sensor reads the failed runs themselves (``failed_partitions``): the run, its
``raw_pages`` step failure (``failure_class`` and ``due_at`` from the ``dg.Failure``
metadata) and the recovery runs already launched, in batched queries.
"""

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from fleet_assets.lib.health import CLASSES, PartitionObservation

RECOVERY_TAG = "fleet/recovery"
RECOVERY_NUMBER_TAG = "fleet/recovery_number"
PARTITION_TAG = "dagster/partition"
TARGET_TAG = "dagster/partition/target"
DATE_TAG = "dagster/partition/date"
WILL_RETRY_TAG = "dagster/will_retry"
LEDGER_LABELS = ("ok", *CLASSES)

_IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED: "queued", dg.DagsterRunStatus.NOT_STARTED: "queued",
    dg.DagsterRunStatus.STARTING: "started", dg.DagsterRunStatus.STARTED: "started",
    dg.DagsterRunStatus.CANCELING: "started",
}
SUCCESS, RETRY, FAILURE = "success", "retry", "failure"


def target_key(target: str) -> dg.AssetKey:
    return dg.AssetKey(["fleet", "targets", target])


def _plain(value: object) -> object:
    return value.value if isinstance(value, dg.MetadataValue) else value


def _number(value: object) -> float | None:
    value = _plain(value)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def attempt_observation(step: str, date: str, target: str, outcome: str,
                        metadata: Mapping[str, object], tags: Mapping[str, str]) -> dg.AssetObservation:
    """One step attempt's end, as the per-target event ``observations`` and the UI read."""
    meta: dict[str, Any] = {"step": step, "outcome": outcome,
                            "recovery_number": int(tags.get(RECOVERY_NUMBER_TAG, "0") or 0)}
    cls = _plain(metadata.get("failure_class"))
    if cls:
        meta["failure_class"] = str(cls)
    due = _number(metadata.get("due_at"))
    if due is not None:
        meta["due_at"] = dg.MetadataValue.float(due)
    if any(str(k).startswith("ledger_") for k in metadata):
        for label in LEDGER_LABELS:  # every label on every event: the UI plots fixed keys
            meta[f"attempts_{label}"] = int(_number(metadata.get(f"ledger_{label}")) or 0)
    c = _number(metadata.get("outcome_C"))
    if step == "extracted_records" and c is not None:
        meta["pages_C"] = int(c)
    return dg.AssetObservation(asset_key=target_key(target), partition=date, metadata=meta)


def reports_attempts(fn: Callable[..., dg.MaterializeResult]) -> Callable[..., dg.MaterializeResult]:
    """Decorate an asset body of the date x target partitions: report each attempt's end."""

    @functools.wraps(fn)
    def wrapper(context: dg.AssetExecutionContext, *args: Any, **kwargs: Any) -> dg.MaterializeResult:
        keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
        step = context.asset_key.to_user_string()

        def report(outcome: str, metadata: Mapping[str, object] | None) -> None:
            context.log_event(attempt_observation(step, keys["date"], keys["target"], outcome,
                                                  metadata or {}, context.run.tags))

        try:
            result = fn(context, *args, **kwargs)
        except dg.RetryRequested:
            report(RETRY, {})
            raise
        except dg.Failure as failure:
            if "circuit" not in (failure.metadata or {}):  # a refusal did no work to report
                report(FAILURE, failure.metadata)
            raise
        report(SUCCESS, result.metadata if isinstance(result, dg.MaterializeResult) else {})
        return result

    return wrapper


@dataclass(frozen=True)
class Attempt:
    """One reported step attempt end (``attempt_observation`` read back)."""

    step: str
    outcome: str
    storage_id: int
    timestamp: float
    run_id: str
    failure_class: str | None
    recovery_number: int
    metadata: Mapping[str, object]


def _attempt(record: dg.EventLogRecord) -> Attempt | None:
    obs = record.asset_observation
    if obs is None:
        return None
    meta = {k: v.value for k, v in obs.metadata.items()}
    cls = meta.get("failure_class")
    return Attempt(str(meta.get("step", "")), str(meta.get("outcome", "")), record.storage_id,
                   record.timestamp, record.run_id, str(cls) if cls else None,
                   int(meta.get("recovery_number") or 0), meta)


def in_flight_runs(instance: dg.DagsterInstance) -> dict[tuple[str, str], dg.RunRecord]:
    """The newest queued or running run of each (target, date), from one query."""
    latest: dict[tuple[str, str], dg.RunRecord] = {}
    for record in instance.get_run_records(dg.RunsFilter(statuses=list(_IN_FLIGHT))):
        tags = record.dagster_run.tags
        if TARGET_TAG in tags and DATE_TAG in tags:
            latest.setdefault((tags[TARGET_TAG], tags[DATE_TAG]), record)  # newest first
    return latest


def target_attempts(instance: dg.DagsterInstance, target: str,
                    recent_dates: int) -> dict[str, list[Attempt]]:
    """The reported attempts of the target's ``recent_dates`` newest dates, newest first."""
    by_date: dict[str, list[Attempt]] = {}
    cursor = None
    limit = recent_dates * 6  # raw_pages and records, with a retry or two, per date
    while True:
        result = instance.fetch_observations(target_key(target), limit=limit, cursor=cursor)
        for record in result.records:
            attempt = _attempt(record)
            if attempt is not None and record.partition_key:
                by_date.setdefault(record.partition_key, []).append(attempt)
        if len(by_date) > recent_dates or not result.has_more:
            break
        cursor = result.cursor
    # Older dates may be cut short by the window: keep only complete newest ones.
    return {d: by_date[d] for d in sorted(by_date, reverse=True)[:recent_dates]}


def _ledger(attempts: list[Attempt]) -> dict[str, int]:
    raw = next((a for a in attempts if a.step == "raw_pages"
                and any(k.startswith("attempts_") for k in a.metadata)), None)
    outcomes = {label: int(raw.metadata.get(f"attempts_{label}") or 0)
                for label in LEDGER_LABELS} if raw else {}
    failed = next((a for a in attempts if a.step == "raw_pages"), None)
    if failed is not None and failed.outcome == FAILURE and failed.failure_class in CLASSES \
            and not any(outcomes.values()):
        outcomes[failed.failure_class] = 1  # the listing itself failed: one page, no ledger
    records = next((a for a in attempts if a.step == "extracted_records"
                    and "pages_C" in a.metadata), None)
    if records is not None:
        outcomes["C"] = outcomes.get("C", 0) + int(records.metadata.get("pages_C") or 0)
    return outcomes


def _observation(date: str, attempts: list[Attempt], run: dg.RunRecord | None) -> PartitionObservation:
    raw = [a for a in attempts if a.step == "raw_pages"]
    last = raw[0] if raw else None
    success = next((a for a in raw if a.outcome == SUCCESS), None)
    recoveries = max((a.recovery_number for a in raw), default=0)
    if run is not None and (last is None or run.create_timestamp.timestamp() >= last.timestamp
                            or run.dagster_run.run_id == last.run_id):
        tags = run.dagster_run.tags
        recoveries = max(recoveries, int(tags.get(RECOVERY_NUMBER_TAG, "0") or 0))
        return PartitionObservation(date, _IN_FLIGHT[run.dagster_run.status],
                                    is_recovery=tags.get(RECOVERY_TAG) == "true",
                                    recoveries=recoveries, outcomes=_ledger(attempts),
                                    succeeded_at=success.timestamp if success else None)
    status = "success" if last is not None and last.outcome == SUCCESS else "failure"
    return PartitionObservation(
        date, status, is_recovery=bool(last and last.recovery_number),
        failure_class=last.failure_class if last and status == "failure" else None,
        recoveries=recoveries, outcomes=_ledger(attempts),
        succeeded_at=success.timestamp if success else None)


def observations(instance: dg.DagsterInstance, targets: Iterable[str],
                 recent_dates: int = 7) -> dict[str, list[PartitionObservation]]:
    """Per target, its ``recent_dates`` newest partitions that ran, newest first."""
    flying = in_flight_runs(instance)
    out: dict[str, list[PartitionObservation]] = {}
    for target in targets:
        by_date = target_attempts(instance, target, recent_dates)
        for (t, date), _ in flying.items():
            if t == target:
                by_date.setdefault(date, [])
        dates = sorted(by_date, reverse=True)[:recent_dates]
        out[target] = [_observation(d, by_date[d], flying.get((target, d))) for d in dates]
    return out


@dataclass(frozen=True)
class FailedPartition:
    """A partition whose newest run failed, with its ``raw_pages`` failure if it had one."""

    key: str
    date: str
    target: str
    run: dg.RunRecord
    failed_in_raw_pages: bool
    failure_class: str | None
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
                                   str(cls) if cls else None,
                                   _number(meta.get("due_at")) if meta else None,
                                   recoveries.get(key, 0)))
    return out
