"""Sensors: keep targets in sync, launch each day, recover failed partitions.

- ``fleet_targets_sensor`` adds the targets of targets.yaml as ``target`` dynamic partitions
  and reports targets that left the file (their partitions and data are kept).
- ``fleet_daily_sensor`` requests yesterday's partition of every target whose circuit is
  closed, each target at ``FLEET_LAUNCH_HOUR`` (UTC, default 2) plus a stable per-target
  offset below ``FLEET_LAUNCH_JITTER_SECONDS`` (default 1800), so targets never start in
  the same second. A target with an open circuit is skipped with the circuit's reason.
- ``fleet_recovery_sensor`` re-requests partitions whose latest run failed in ``raw_pages``
  with class A or B once the failure's ``due_at`` has passed: durable retries outside the
  run, at most ``FLEET_MAX_RECOVERIES`` (default 3) per partition, counted from the runs
  tagged ``fleet/recovery``. Recovery runs carry ``dagster/max_retries=0`` so each one is a
  single attempt and the bound holds. A partition refused by its target's open circuit is
  never recovered: the sensor names the circuit and the reset command instead.

Schedules are in ``schedules.py``, jobs in ``jobs.py``.
"""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from fleet_assets.automation.jobs import ingest_job
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key, target_partitions
from fleet_assets.lib.scheduling import daily_partition_date, decide_recovery, launch_time
from fleet_assets.lib.targets import load_targets
from fleet_assets.settings import launch_hour, launch_jitter_seconds, max_recoveries, targets_path
from fleet_assets.state import history, recovery
from fleet_assets.state.circuit import OPEN, circuit_states


@dg.sensor(
    name="fleet_targets_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds targets.yaml targets as dynamic partitions; reports removed ones.",
)
def fleet_targets_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    configured = set(load_targets(targets_path()))  # a bad file fails the tick with its message
    registered = set(context.instance.get_dynamic_partitions(TARGETS_PARTITIONS))
    added, removed = sorted(configured - registered), sorted(registered - configured)
    if removed:
        context.log.warning(
            f"target(s) {', '.join(removed)} left {targets_path()}: their partitions and data are "
            "kept; delete a partition in the UI to drop it"
        )
    if not added:
        note = f"; removed from targets.yaml (kept): {', '.join(removed)}" if removed else ""
        return dg.SkipReason(f"{len(configured)} target(s) already registered{note}")
    context.log.info(f"registering target(s): {', '.join(added)}")
    return dg.SensorResult(dynamic_partitions_requests=[target_partitions.build_add_request(added)])


Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_daily_sensor(name: str = "fleet_daily_sensor", clock: Clock = utc_now) -> dg.SensorDefinition:
    """The daily sensor; tests pass a fixed ``clock``."""

    @dg.sensor(
        name=name,
        job=ingest_job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Requests yesterday's partition per target with a closed circuit, staggered.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        return _daily(context, clock())

    return _sensor


def _daily(context: dg.SensorEvaluationContext, now: dt.datetime) -> dg.SensorResult | dg.SkipReason:
    date = daily_partition_date(now)
    targets = sorted(context.instance.get_dynamic_partitions(TARGETS_PARTITIONS))
    if not targets:
        return dg.SkipReason("no targets registered yet (fleet_targets_sensor adds them)")
    circuits = circuit_states(context.instance, targets)
    requests, skipped = [], []
    for target in targets:
        due = launch_time(date, target, launch_hour(), launch_jitter_seconds())
        circuit = circuits[target]
        if circuit.status != "closed":
            skipped.append(f"{target}: circuit {circuit.status} ({circuit.reason})")
        elif now < due:
            skipped.append(f"{target}: launches at {due.isoformat(timespec='seconds')}")
        else:
            requests.append(dg.RunRequest(
                run_key=f"daily:{date}|{target}",
                partition_key=partition_key(date, target),
                tags={"fleet/launched_by": "fleet_daily_sensor"},
            ))
    for line in skipped:
        context.log.info(f"{date} skipped {line}")
    if not requests:
        return dg.SkipReason(f"{date}: " + "; ".join(skipped))
    return dg.SensorResult(run_requests=requests)


def build_recovery_sensor(name: str = "fleet_recovery_sensor", max_recoveries_: int | None = None,
                          lookback_runs: int = 500, clock: Clock = utc_now) -> dg.SensorDefinition:
    """The recovery sensor; tests build one with a small bound."""

    @dg.sensor(
        name=name,
        job=ingest_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Re-requests partitions that failed with class A or B once their backoff passed.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        bound = max_recoveries_ if max_recoveries_ is not None else max_recoveries()
        now = clock().timestamp()
        instance = context.instance
        requests, notes = [], []
        # Two batched queries for all failed partitions, then one read per current failure.
        failures = recovery.failed_partitions(instance, lookback_runs)
        circuits = circuit_states(instance, {f.target for f in failures})
        for failed in failures:
            if not failed.failed_in_raw_pages:
                continue  # raw_pages did not fail: nothing for a durable retry
            target = failed.target
            if circuits[target].status == OPEN:
                # The refusal is deterministic: a relaunch is refused the same way until a reset.
                notes.append(f"{failed.key}: refused by {target}'s open circuit "
                             f"({circuits[target].reason}); fix its rules, then "
                             f"`fleet reset-circuit {target}`")
                continue
            tags = failed.run.dagster_run.tags
            decision = decide_recovery(failed.failure_class, failed.due_at, failed.recoveries, bound,
                                       now, will_retry=tags.get(history.WILL_RETRY_TAG) == "true")
            if not decision.launch:
                notes.append(f"{failed.key}: {decision.reason}")
                continue
            context.log.info(f"recovering {failed.key}: {decision.reason}")
            requests.append(dg.RunRequest(
                run_key=f"recover:{failed.key}:{decision.recovery_number}",
                partition_key=partition_key(failed.date, failed.target),
                tags={history.RECOVERY_TAG: "true",
                      history.RECOVERY_NUMBER_TAG: str(decision.recovery_number),
                      "fleet/recovery_of": failed.run.dagster_run.run_id,
                      "dagster/max_retries": "0"},
            ))
        if not requests:
            return dg.SkipReason("; ".join(notes) if notes else "no partition failed with class A or B")
        return dg.SensorResult(run_requests=requests)

    return _sensor


fleet_daily_sensor = build_daily_sensor()
fleet_recovery_sensor = build_recovery_sensor()

SENSORS = [fleet_targets_sensor, fleet_daily_sensor, fleet_recovery_sensor]
