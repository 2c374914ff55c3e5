"""Sensors on a temporary instance: target sync, the daily launch, durable recoveries."""

from __future__ import annotations

import datetime as dt
import uuid

import dagster as dg
import pytest
import yaml

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.automation.sensors import build_daily_sensor, build_recovery_sensor, fleet_targets_sensor
from fleet_assets.cli.launch import INGEST
from fleet_assets.lib.scheduling import launch_time
from fleet_assets.lib.targets import TargetConfigError
from fleet_assets.resources import build_resources
from fleet_assets.settings import REPO_ROOT
from fleet_assets.state import history, recovery
from fleet_assets.state.circuit import circuit_state, record_verdict

DATE = "2025-06-10"
TARGETS = ["jobs", "news", "shop"]


def open_circuit(instance: dg.DagsterInstance, target: str, reason: str = "drift on 2025-06-09") -> None:
    """Open ``target``'s circuit the way a drifted partition does: its records were
    materialized and a blocking ERROR check failed on them, which the check records."""
    partition = f"2025-06-09|{target}"
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key="extracted_records", partition=partition))
    record_verdict(instance.report_runless_asset_event, instance, partition,
                   "required_field_coverage", passed=False, severity="ERROR", summary=reason)
    assert circuit_state(instance, target).status == "open"


def _targets_file(tmp_path, extra: dict | None = None, drop: str | None = None, retry=None):
    spec = yaml.safe_load((REPO_ROOT / "targets.yaml").read_text())
    spec["targets"] = [t for t in spec["targets"] if t["name"] != drop]
    if extra:
        spec["targets"].append(extra)
    if retry:
        spec["defaults"]["retry"] = retry
    path = tmp_path / f"targets-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_targets_sensor_adds_targets_that_are_new_in_targets_yaml(tmp_path, monkeypatch):
    extra = {"name": "extra", "urls": ["http://127.0.0.1:9/x/{date}"],
             "record": {"fields": {"t": {"css": "h1", "type": "str"}}, "required": ["t"]}}
    monkeypatch.setenv("FLEET_TARGETS", str(_targets_file(tmp_path, extra=extra)))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["shop"])
        result = fleet_targets_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(result, dg.SensorResult)
        [request] = result.dynamic_partitions_requests
        assert request.partitions_def_name == TARGETS_PARTITIONS
        assert sorted(request.partition_keys) == ["extra", "jobs", "news"]


def test_targets_sensor_reports_removed_target_and_keeps_its_partition(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_TARGETS", str(_targets_file(tmp_path, drop="news")))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, TARGETS)
        result = fleet_targets_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(result, dg.SkipReason)
        assert "removed from targets.yaml (kept): news" in result.skip_message
        assert sorted(instance.get_dynamic_partitions(TARGETS_PARTITIONS)) == TARGETS


def test_targets_sensor_fails_the_tick_naming_a_bad_targets_file(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  - name: Not A Slug\n")
    monkeypatch.setenv("FLEET_TARGETS", str(bad))
    with dg.instance_for_test() as instance:
        with pytest.raises(TargetConfigError, match="'Not A Slug' is not a slug"):
            fleet_targets_sensor(dg.build_sensor_context(instance=instance))
        assert instance.get_dynamic_partitions(TARGETS_PARTITIONS) == []


def _at(ts: dt.datetime):
    return lambda: ts


def test_daily_sensor_requests_yesterday_for_each_target_at_its_own_offset(monkeypatch):
    monkeypatch.setenv("FLEET_LAUNCH_JITTER_SECONDS", "1800")
    times = {t: launch_time(DATE, t, 2, 1800) for t in TARGETS}
    assert len(set(times.values())) == len(TARGETS)  # no two targets start in the same second
    first, last = min(times.values()), max(times.values())
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, TARGETS)
        early = build_daily_sensor(clock=_at(first - dt.timedelta(seconds=1)))
        skipped = early(dg.build_sensor_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason) and "launches at" in skipped.skip_message
        between = build_daily_sensor(clock=_at(first))(dg.build_sensor_context(instance=instance))
        assert [r.partition_key for r in between.run_requests] == [
            partition_key(DATE, min(times, key=times.get))]
        result = build_daily_sensor(clock=_at(last))(dg.build_sensor_context(instance=instance))
        assert sorted(r.partition_key for r in result.run_requests) == [f"{DATE}|{t}" for t in TARGETS]
        assert len({r.run_key for r in result.run_requests}) == len(TARGETS)


def test_daily_sensor_skips_target_with_open_circuit_and_says_why():
    later = dt.datetime(2025, 6, 11, 23, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, TARGETS)
        open_circuit(instance, "news", reason="drift on 2025-06-09")
        context = dg.build_sensor_context(instance=instance)
        result = build_daily_sensor(clock=_at(later))(context)
        assert sorted(r.partition_key for r in result.run_requests) == [f"{DATE}|jobs", f"{DATE}|shop"]
        open_circuit(instance, "jobs")
        open_circuit(instance, "shop")
        skipped = build_daily_sensor(clock=_at(later))(dg.build_sensor_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason)
        assert ("news: circuit open (check required_field_coverage failed on 2025-06-09|news: "
                "drift on 2025-06-09)") in skipped.skip_message


@pytest.fixture
def failing_env(fleet_env, sandbox, tmp_path, monkeypatch):
    """Every request to jobs answers 5xx; class A gets one in-run attempt and a tiny backoff."""
    retry = {"A": {"max_attempts": 1, "base_seconds": 0.2, "cap_seconds": 0.2},
             "B": {"max_attempts": 1, "base_seconds": 0.2, "cap_seconds": 0.2}}
    monkeypatch.setenv("FLEET_TARGETS", str(_targets_file(tmp_path, retry=retry)))
    # The fleet-wide host backoff closes jobs after 5 failures in a row: keep it as short as
    # the class backoff, so the recovery run (real clock) is not refused by a closed host.
    monkeypatch.setenv("FLEET_BUDGET_BACKOFF_BASE", "0.2")
    monkeypatch.setenv("FLEET_BUDGET_BACKOFF_CAP", "0.2")
    sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["jobs"]})
    return sandbox


def _run(instance, target, tags=None):
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, [target])
    return dg.materialize(ALL, selection=list(INGEST), partition_key=partition_key(DATE, target),
                          instance=instance, resources=build_resources(), raise_on_error=False,
                          tags=tags or {})


def test_recovery_sensor_waits_for_backoff_then_requests_the_partition(failing_env):
    with dg.instance_for_test() as instance:
        failed = _run(instance, "jobs")
        assert not failed.success
        [failure] = recovery.failed_partitions(instance)
        assert failure.run.dagster_run.run_id == failed.run_id and failure.recoveries == 0
        assert failure.failure_class == "A" and failure.due_at is not None
        due = dt.datetime.fromtimestamp(failure.due_at, dt.UTC)

        before = build_recovery_sensor(max_recoveries_=2, clock=_at(due - dt.timedelta(seconds=5)))
        waiting = before(dg.build_sensor_context(instance=instance))
        assert isinstance(waiting, dg.SkipReason) and "backoff until" in waiting.skip_message

        after = build_recovery_sensor(max_recoveries_=2, clock=_at(due + dt.timedelta(seconds=1)))
        [request] = after(dg.build_sensor_context(instance=instance)).run_requests
        assert request.partition_key == f"{DATE}|jobs"
        assert request.tags[history.RECOVERY_TAG] == "true"
        assert request.tags[history.RECOVERY_NUMBER_TAG] == "1"
        assert request.tags["dagster/max_retries"] == "0"

        failing_env.set_faults({})  # the site is back: the recovery run succeeds
        assert _run(instance, "jobs", tags=request.tags).success
        done = after(dg.build_sensor_context(instance=instance))
        assert isinstance(done, dg.SkipReason) and "jobs" not in done.skip_message


def test_recovery_sensor_stops_after_max_recoveries_counted_from_run_tags(failing_env):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    sensor = build_recovery_sensor(max_recoveries_=2, clock=_at(later))
    with dg.instance_for_test() as instance:
        assert not _run(instance, "jobs").success
        for number in ("1", "2"):
            [request] = sensor(dg.build_sensor_context(instance=instance)).run_requests
            assert request.tags[history.RECOVERY_NUMBER_TAG] == number
            assert not _run(instance, "jobs", tags=request.tags).success
        exhausted = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(exhausted, dg.SkipReason)
        assert f"{DATE}|jobs: 2/2 recoveries used" in exhausted.skip_message


def test_recovery_sensor_leaves_unrecoverable_failures_alone(fleet_env, sandbox):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
        # daily_aggregates fails without records: not a raw_pages failure, nothing to recover
        result = dg.materialize(ALL, selection=["daily_aggregates"], instance=instance,
                                partition_key=partition_key(DATE, "jobs"),
                                resources=build_resources(), raise_on_error=False)
        assert not result.success
        skipped = build_recovery_sensor(clock=_at(later))(dg.build_sensor_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason)
        assert "no partition failed with class A or B" in skipped.skip_message


def test_recovery_sensor_names_a_circuit_refusal(fleet_env, sandbox):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
        open_circuit(instance, "jobs", reason="drift on 2025-06-09")
        refused = _run(instance, "jobs")
        assert not refused.success
        skipped = build_recovery_sensor(clock=_at(later))(dg.build_sensor_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason)
        assert f"{DATE}|jobs: refused by jobs's open circuit" in skipped.skip_message
        assert "fleet reset-circuit jobs" in skipped.skip_message
        assert "unclassified" not in skipped.skip_message
