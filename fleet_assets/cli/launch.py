"""Materialize partitions through a real Dagster instance, several processes at once.

Used by ``fleet demo`` and the tests: each partition is one run (``dg.materialize`` in a
worker process), so runs of different partitions proceed concurrently, as they do when the
daemon launches them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context

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
        for key, value in mat.metadata.items():
            if isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                metadata[f"{mat.asset_key.to_user_string()}.{key}"] = float(value.value)
    error = ""
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        error = failures[-1].message if failures else "run failed"
    return PartitionRun(date, target, result.success, result.run_id, metadata, error or "")


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
