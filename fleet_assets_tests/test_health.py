"""Fleet health: the state rules (pure), the fleet_health asset and `fleet status` on demo data."""

from __future__ import annotations

import json
import re

import dagster as dg
import pytest

from fleet_assets.assets import ALL, HEALTH
from fleet_assets.assets.health import HEALTH_KEY
from fleet_assets.automation.partitions import partition_key
from fleet_assets.cli import main as cli
from fleet_assets.cli.launch import INGEST
from fleet_assets.lib.health import PartitionObservation as Obs
from fleet_assets.lib.health import derive, markdown, text_table
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources import build_resources
from fleet_assets.state.instance import get_instance

OK = Obs("2025-06-10", "success", outcomes={"ok": 5}, succeeded_at=1_750_000_000.0)


@pytest.mark.parametrize("obs, circuit, configured, state, reason", [
    ([OK], "closed", True, "Healthy", "1/1 recent partitions ok"),
    ([], "closed", True, "Idle", "no partition has run yet"),
    ([OK], "closed", False, "Gone", "removed from targets.yaml"),
    ([Obs("2025-06-11", "success", outcomes={"D": 4}), OK], "closed", True, "Gone", "every page"),
    ([OK], "open", True, "Halted", "circuit open: drift"),
    ([Obs("2025-06-11", "failure", failure_class="C"), OK], "closed", True, "Halted", "class C"),
    ([Obs("2025-06-11", "failure", failure_class="A", recoveries=3), OK], "closed", True, "Halted",
     "3/3 recoveries used"),
    ([OK], "half_open", True, "Recovering", "half-open"),
    ([Obs("2025-06-11", "started", is_recovery=True), OK], "closed", True, "Recovering", "in flight"),
    ([Obs("2025-06-11", "failure", failure_class="B", recoveries=1), OK], "closed", True, "Rotating",
     "2025-06-11 blocked (class B)"),
    ([Obs("2025-06-11", "failure", failure_class="A"), OK], "closed", True, "Retrying",
     "2025-06-11 failed (class A)"),
    ([OK, Obs("2025-06-09", "failure", failure_class="A")], "closed", True, "Retrying", "2025-06-09"),
])
def test_state_rules(obs, circuit, configured, state, reason):
    health = derive("shop", obs, circuit, "drift", configured=configured, max_recoveries=3)
    assert health.state == state
    assert reason in health.reason


def test_counts_sum_failure_classes_over_recent_partitions():
    obs = [Obs("2025-06-11", "failure", failure_class="B", outcomes={"ok": 1, "B": 3, "A": 1}),
           Obs("2025-06-10", "success", outcomes={"ok": 5, "C": 2, "D": 1}, succeeded_at=10.0)]
    health = derive("shop", obs, "closed")
    assert dict(health.counts) == {"A": 1, "B": 3, "C": 2, "D": 1}
    assert health.partitions == 2 and health.failed_partitions == 1
    assert health.last_success == 10.0
    table = markdown([health])
    assert table.splitlines()[0].startswith("| target | state | A | B | C | D |")
    assert "| shop | Rotating | 1 | 3 | 2 | 1 | 2 | 1 | closed |" in table


def test_fleet_health_asset_reports_per_target_state_and_numeric_counts(fleet_env, sandbox):
    sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["news"]})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("targets", ["jobs", "news"])
        for target in ("jobs", "news"):
            dg.materialize(ALL, selection=list(INGEST), partition_key=partition_key("2025-06-10", target),
                           instance=instance, resources=build_resources(), raise_on_error=False,
                           tags={"dagster/max_retries": "0"})
        result = dg.materialize([*ALL, *HEALTH], selection=["fleet_health"], instance=instance,
                                resources=build_resources())
    [mat] = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["targets"] == 3  # jobs and news ran; shop is configured but idle
    assert meta["jobs.failures_A"] == 0 and meta["news.failures_A"] > 0
    assert meta["targets_healthy"] == 1 and meta["targets_retrying"] == 1 and meta["targets_idle"] == 1
    assert re.search(r"\| jobs \| Healthy \|", meta["table"])
    assert re.search(r"\| news \| Retrying \|", meta["table"])
    stored = json.loads(LocalObjectStore(fleet_env).get(HEALTH_KEY))
    assert [(r["target"], r["state"]) for r in stored] == [("jobs", "Healthy"), ("news", "Retrying"),
                                                           ("shop", "Idle")]


def test_fleet_status_on_demo_data_prints_one_row_per_target(fleet_env, capsys):
    assert cli.main(["demo", "--days", "1", "--end", "2025-06-10", "--workers", "3"]) == 0
    capsys.readouterr()
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [(r[0], r[1]) for r in rows] == [("jobs", "Healthy"), ("news", "Healthy"), ("shop", "Healthy")]
    assert out.splitlines()[1].split()[:6] == ["target", "state", "A", "B", "C", "D"]
    assert text_table([]).startswith("target")
    assert get_instance().get_dynamic_partitions("targets")  # status read the demo's instance


def test_failure_classes_are_parsed_at_the_edge_into_the_enum():
    from fleet_assets.lib.failures import FailureClass
    from fleet_assets.lib.health import PartitionObservation, class_of

    assert class_of("B") is FailureClass.ENVIRONMENTAL and class_of(FailureClass.HARD) is FailureClass.HARD
    assert class_of(None) is None and class_of("") is None and class_of("X") is None
    assert PartitionObservation("2025-06-10", "failure", failure_class="A").failure_class \
        is FailureClass.TRANSIENT
