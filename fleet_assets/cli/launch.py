"""Materialize partitions through a real Dagster instance, several processes at once.

Used by ``fleet demo`` and the tests: each partition is one run (``dg.materialize`` in a
worker process), so runs of different partitions proceed concurrently, as they do when the
daemon launches them. ``materialize_fleet`` runs ingest and aggregates through one pool of
workers (each imports the code location once) and starts a day's aggregate as soon as its
inputs are in (its own ingest and the day before's), instead of after every ingest.
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
                          log_level: str = "WARNING") -> PartitionRun:
    """Run the selected assets for one partition in this process, on the DAGSTER_HOME instance."""
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
    stage = {INGEST: "ingest", AGGREGATE: "aggregate"}.get(tuple(selection), "+".join(selection))
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
) -> tuple[list[PartitionRun], list[PartitionRun]]:
    """Ingest every (date, target), then aggregate each one that succeeded: (ingest, aggregate).

    A day's ``daily_aggregates`` compares with the day before's records, so it is submitted
    once its own ingest succeeded and the day before's ingest (if in this batch) finished,
    exactly the inputs it would see had every ingest run first. One pool serves both stages.
    """
    todo = list(partitions)
    asked = set(todo)
    env = {k: v for k, v in os.environ.items() if k.startswith(("FLEET_", "DAGSTER_"))}
    ingested: dict[tuple[str, str], PartitionRun] = {}
    ingest: list[PartitionRun] = []
    aggregate: list[PartitionRun] = []
    total = [len(todo)]

    def before(pair: tuple[str, str]) -> tuple[str, str]:
        return ((dt.date.fromisoformat(pair[0]) - dt.timedelta(days=1)).isoformat(), pair[1])

    def ready(pair: tuple[str, str]) -> bool:
        run = ingested.get(pair)
        return run is not None and run.success and (before(pair) not in asked
                                                     or before(pair) in ingested)

    # One run at a time gains nothing from worker processes: run in this process, which has
    # imported the code location already (a spawned worker costs seconds of imports).
    inline = workers <= 1 or len(todo) <= 1
    pool = _Inline() if inline else ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=get_context("spawn"))
    with pool as ex:
        pending: dict[Future, tuple[str, tuple[str, str]]] = {
            ex.submit(materialize_partition, d, t, INGEST, env): ("ingest", (d, t))
            for d, t in todo}
        submitted: set[tuple[str, str]] = set()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                stage, pair = pending.pop(fut)
                run = fut.result()
                (ingest if stage == "ingest" else aggregate).append(run)
                if stage == "ingest":
                    ingested[pair] = run
                    total[0] += run.success
                if on_done:
                    on_done(run, len(ingest) + len(aggregate), total[0])
            for pair in todo:
                if pair not in submitted and ready(pair):
                    submitted.add(pair)
                    fut = ex.submit(materialize_partition, *pair, AGGREGATE, env)
                    pending[fut] = ("aggregate", pair)
    key = lambda r: (r.target, r.date)  # noqa: E731
    return sorted(ingest, key=key), sorted(aggregate, key=key)
