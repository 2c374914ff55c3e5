"""``materialize_fleet``: one pool for ingest and aggregates, each aggregate once its inputs are in."""

from __future__ import annotations

import duckdb
import pytest

from fleet_assets.cli.launch import materialize_fleet
from fleet_assets.lib import keys
from fleet_assets.state.instance import get_instance, register_targets

DAYS = ["2025-06-10", "2025-06-11", "2025-06-12"]


@pytest.mark.slow
def test_each_days_aggregate_sees_the_day_before_as_if_every_ingest_ran_first(fleet_env):
    register_targets(get_instance(), ["jobs"])
    order: list[tuple[str, str]] = []
    ingest, aggregate = materialize_fleet(
        [(d, "jobs") for d in reversed(DAYS)], workers=2,
        on_done=lambda run, n, total: order.append((run.stage, run.date)))
    assert [r.success for r in ingest] == [True] * 3
    assert [r.success for r in aggregate] == [True] * 3
    for day in DAYS:  # an aggregate never ran before the ingest it reads
        assert order.index(("ingest", day)) < order.index(("aggregate", day))
    for day in DAYS[1:]:
        before = DAYS[DAYS.index(day) - 1]
        assert order.index(("ingest", before)) < order.index(("aggregate", day))
    # new_items exists only when the day before's records were there when the aggregate ran.
    has_new = {}
    for day in DAYS:
        path = fleet_env / keys.table_key("aggregates", "jobs", day)
        metrics = {m for (m,) in duckdb.sql(f"SELECT metric FROM '{path}'").fetchall()}
        has_new[day] = "new_items" in metrics
    assert has_new == {DAYS[0]: False, DAYS[1]: True, DAYS[2]: True}
    assert len({r.run_id for r in [*ingest, *aggregate]}) == 6
