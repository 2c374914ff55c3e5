"""Materialize partitions through a real Dagster instance, several processes at once.

Used by ``fleet demo`` and the tests: each partition is one run (``dg.materialize`` in a
worker process), so runs of different partitions proceed concurrently, as they do when the
daemon launches them. ``materialize_fleet`` (``fleet demo``) runs ingest and aggregates
through one pool of workers (each imports the code location once), in one run per partition
wherever the day before is already ingested.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from multiprocessing import get_context

# Worker processes import the code location afresh: keep Dagster's notices about the
# beta/preview APIs we use on purpose (partitioned checks) out of the command's output.
# Module level, because a spawned worker imports this module before it runs anything.
BETA_NOTICES = r".*is currently in (beta|preview)"
warnings.filterwarnings("ignore", message=BETA_NOTICES)

INGEST = ("raw_pages", "extracted_records")
AGGREGATE = ("daily_aggregates",)


@dataclass(frozen=True)
class PartitionRun:
    date: str
    target: str
    success: bool
    run_id: str
    metadata: dict[str, float] = field(default_factory=dict)
    error: str = ""
    stage: str = ""  # "ingest", "aggregate" or the selected assets


def materialize_partition(date: str, target: str, selection: Sequence[str],
                          env: dict[str, str] | None = None,
                          log_level: str = "CRITICAL") -> PartitionRun:
    """Run the selected assets for one partition in this process, on the DAGSTER_HOME instance.

    The console logger is quiet by default: a failed run's reason is in the ``PartitionRun``
    (the demo prints it on one line with the run id), and its full log stays in the instance
    for the UI; at ERROR, Dagster printed the reason again with the Failure's traceback.
    """
    if env:
        os.environ.update(env)
    import dagster as dg

    from fleet_assets.assets import ALL
    from fleet_assets.automation.partitions import partition_key
    from fleet_assets.resources import build_resources
    from fleet_assets.state.instance import get_instance

    instance = get_instance()
    result = dg.materialize(
        ALL,
        selection=list(selection),
        partition_key=partition_key(date, target),
        instance=instance,
        resources=build_resources(),
        raise_on_error=False,
        tags={"fleet/launched_by": "fleet-cli"},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    metadata: dict[str, float] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        _numbers(metadata, mat.asset_key.to_user_string(), mat.metadata)
    for event in result.all_events:
        # A failed step's dg.Failure carries the same counters (pages stored before it failed).
        user = event.step_failure_data.user_failure_data if event.is_step_failure else None
        if user is not None and event.step_key:
            _numbers(metadata, event.step_key, user.metadata)
    error = "" if result.success else failure_reason(result.all_events)
    stage = {INGEST: "ingest", AGGREGATE: "aggregate", INGEST + AGGREGATE: "ingest+aggregate"
             }.get(tuple(selection), "+".join(selection))
    return PartitionRun(date, target, result.success, result.run_id, metadata, error, stage)


def _numbers(into: dict[str, float], prefix: str, metadata) -> None:
    for key, value in metadata.items():
        if isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
            into.setdefault(f"{prefix}.{key}", float(value.value))


def failure_reason(events: Sequence) -> str:
    """Why a run failed, in one line: a failed blocking check, else the failed step's own words.

    Dagster's step failure message is only 'Execution of step "x" failed.'; the reason is in
    the check evaluation or in the description of the ``dg.Failure`` the step raised.
    """
    import dagster as dg

    for event in events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.asset_check_evaluation_data
        # A WARN check does not fail a run; only a failed ERROR check can be the reason.
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            text = evaluation.description or "failed"
            return f"check {evaluation.check_name}: {text.splitlines()[0]}"
    failures = [e for e in events if e.is_step_failure]
    if not failures:
        return "run failed before any step (see the run's logs in the UI)"
    last = failures[-1]
    data = last.step_failure_data
    user = data.user_failure_data
    text = (user.description if user and user.description else
            (data.error.message if data.error else last.message or "failed"))
    return f"{last.step_key}: {text.strip().splitlines()[0]}"


def materialize_many(
    partitions: Iterable[tuple[str, str]],
    selection: Sequence[str],
    workers: int = 2,
    on_done: Callable[[PartitionRun, int, int], None] | None = None,
) -> list[PartitionRun]:
    """Materialize each (date, target) in its own run, ``workers`` processes at once."""
    todo = list(partitions)
    env = {k: v for k, v in os.environ.items() if k.startswith(("FLEET_", "DAGSTER_"))}
    done: list[PartitionRun] = []
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context("spawn")) as ex:
        futures = [ex.submit(materialize_partition, d, t, selection, env) for d, t in todo]
        for fut in as_completed(futures):
            run = fut.result()
            done.append(run)
            if on_done:
                on_done(run, len(done), len(todo))
    return sorted(done, key=lambda r: (r.target, r.date))


class _Inline:
    """The executor interface, running each call at once in this process."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable, *args: object) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut


def materialize_fleet(
    partitions: Iterable[tuple[str, str]],
    workers: int = 2,
    on_done: Callable[[PartitionRun, int, int], None] | None = None,
) -> list[PartitionRun]:
    """Ingest and aggregate every (date, target) in as few runs as the inputs allow.

    A day's ``daily_aggregates`` compares with the day before's records, so it may run only
    once the day before's ingest (if in this batch) has finished: exactly the inputs it would
    see had every ingest run first. A partition whose day before is done (or not in the
    batch) gets one run for both stages; the others ingest now and aggregate in a second run
    when ready. Partitions go in date order, so with a worker per target each target's days
    chain into one run each. A failed ingest is not aggregated.
    """
    queue = sorted(dict.fromkeys(partitions), key=lambda p: (p[0], p[1]))
    asked = set(queue)
    env = {k: v for k, v in os.environ.items() if k.startswith(("FLEET_", "DAGSTER_"))}
    ingested: set[tuple[str, str]] = set()
    waiting: list[tuple[str, str]] = []  # ingested, aggregate not yet run
    runs: list[PartitionRun] = []
    total = [len(queue)]

    def before_done(pair: tuple[str, str]) -> bool:
        day_before = ((dt.date.fromisoformat(pair[0]) - dt.timedelta(days=1)).isoformat(), pair[1])
        return day_before not in asked or day_before in ingested

    # One run at a time gains nothing from worker processes: run in this process, which has
    # imported the code location already (a spawned worker costs seconds of imports).
    slots = 1 if workers <= 1 or len(queue) <= 1 else min(workers, len(queue))
    pool = _Inline() if slots == 1 else ProcessPoolExecutor(
        max_workers=slots, mp_context=get_context("spawn"))
    in_flight: dict[Future, tuple[tuple[str, ...], tuple[str, str]]] = {}
    with pool as ex:
        while queue or waiting or in_flight:
            while len(in_flight) < slots:
                ready = next((p for p in waiting if before_done(p)), None)
                pick = next((p for p in queue if before_done(p)), None)
                if ready is not None:
                    waiting.remove(ready)
                    selection, pair = AGGREGATE, ready
                elif pick is not None:
                    queue.remove(pick)
                    selection, pair = INGEST + AGGREGATE, pick
                elif queue:
                    selection, pair = INGEST, queue.pop(0)
                    total[0] += 1  # its aggregate is a run of its own
                else:
                    break
                fut = ex.submit(materialize_partition, *pair, selection, env)
                in_flight[fut] = (selection, pair)
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for fut in finished:
                selection, pair = in_flight.pop(fut)
                run = fut.result()
                runs.append(run)
                if selection != AGGREGATE:
                    ingested.add(pair)
                if selection == INGEST:
                    if run.success:
                        waiting.append(pair)
                    else:
                        total[0] -= 1  # a failed ingest is not aggregated
                if on_done:
                    on_done(run, len(runs), total[0])
    return sorted(runs, key=lambda r: (r.target, r.date, r.stage))
