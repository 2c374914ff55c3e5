"""``materialize_fleet``: ingest and aggregates in as few runs as the day-before rule allows."""

from __future__ import annotations

import duckdb
import pytest

from fleet_assets.cli.launch import materialize_fleet
from fleet_assets.lib import keys
from fleet_assets.state.instance import get_instance, register_targets


def _has_new_items(home, days: list[str]) -> dict[str, bool]:
    """new_items exists only when the day before's records were there when the aggregate ran."""
    out = {}
    for day in days:
        path = home / keys.table_key("aggregates", "jobs", day)
        out[day] = "new_items" in {m for (m,) in duckdb.sql(f"SELECT metric FROM '{path}'").fetchall()}
    return out


@pytest.mark.slow
def test_each_days_aggregate_sees_the_day_before_as_if_every_ingest_ran_first(fleet_env):
    register_targets(get_instance(), ["jobs"])
    days = ["2025-06-10", "2025-06-11", "2025-06-12"]
    runs = materialize_fleet([(d, "jobs") for d in reversed(days)], workers=2)
    assert all(r.success for r in runs), [r.error for r in runs]
    assert {r.date for r in runs if "aggregate" in r.stage} == set(days)
    assert _has_new_items(fleet_env, days) == {days[0]: False, days[1]: True, days[2]: True}
    assert len(runs) < 2 * len(days)  # the first day needs one run, not two
    assert len({r.run_id for r in runs}) == len(runs)


@pytest.mark.slow
def test_one_worker_runs_each_partition_once_in_this_process(fleet_env):
    register_targets(get_instance(), ["jobs"])
    days = ["2025-06-20", "2025-06-21"]
    seen: list[tuple[int, int]] = []
    runs = materialize_fleet([(d, "jobs") for d in days], workers=1,
                             on_done=lambda run, n, total: seen.append((n, total)))
    assert [(r.date, r.stage, r.success) for r in runs] == [
        (d, "ingest+aggregate", True) for d in days]
    assert seen == [(1, 2), (2, 2)]
    assert _has_new_items(fleet_env, days) == {days[0]: False, days[1]: True}
