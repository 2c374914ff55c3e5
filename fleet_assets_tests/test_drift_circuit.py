"""Semantic drift end to end: blocking checks, the per-target circuit, one alert per opening.

Runs against the sandbox's ``drift_from`` knob, on the DAGSTER_HOME instance of ``fleet_env``
(SQLite), so that runs in other processes share the circuit, as workers on other machines
share PostgreSQL in production.
"""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import dagster as dg
import pytest
import yaml

from fleet_assets import settings
from fleet_assets.assets import ALL
from fleet_assets.automation.jobs import ingest_job
from fleet_assets.automation.partitions import fleet_partitions, partition_key
from fleet_assets.checks import DRIFT_CHECKS
from fleet_assets.cli.launch import materialize_many
from fleet_assets.cli.main import main as fleet_main
from fleet_assets.lib import keys
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources import build_resources
from fleet_assets.resources.fetcher import FetcherResource
from fleet_assets.settings import REPO_ROOT
from fleet_assets.state.circuit import (
    DRIFT_CHECK_NAMES,
    circuit_events,
    circuit_state,
    circuit_states,
    reset_circuit_job,
)
from fleet_assets.state.instance import get_instance, register_targets

D = "2025-06-12"  # jobs drifts from this date on
BEFORE = ["2025-06-10", "2025-06-11"]
LATER = ["2025-06-13", "2025-06-14"]
PIPELINE = ["raw_pages", "extracted_records", "daily_aggregates"]
CHECKS = dg.AssetSelection.checks_for_assets("extracted_records")
RECORDS_ONLY = dg.AssetSelection.assets("raw_pages", "extracted_records").without_checks()


@pytest.fixture
def drift_env(fleet_env, sandbox, webhook):
    sandbox.set_faults({"drift_from": {"jobs": D}})
    instance = get_instance()
    register_targets(instance, ["shop", "news", "jobs"])
    return instance


def run(instance, date, target, selection=PIPELINE, fetcher=None, alerts=None):
    resources = build_resources()
    if fetcher is not None:
        resources["fetcher"] = fetcher
    if alerts is not None:
        resources["alerts"] = alerts
    return dg.materialize(
        ALL, selection=selection, partition_key=partition_key(date, target), instance=instance,
        resources=resources, raise_on_error=False,
    )


def run_checks_in_child(date: str, env: dict[str, str], target: str = "jobs") -> bool:
    """Only the drift checks of one partition, in a fresh process on the DAGSTER_HOME instance."""
    os.environ.update(env)
    checks_job = dg.define_asset_job("drift_checks", selection=CHECKS, partitions_def=fleet_partitions)
    defs = dg.Definitions(assets=ALL, jobs=[checks_job], resources=build_resources())
    # a checks-only job refuses partition_key= (no asset in it), so the partition goes in tags
    tags = {"dagster/partition": f"{date}|{target}", "dagster/partition/date": date,
            "dagster/partition/target": target}
    return defs.resolve_job_def("drift_checks").execute_in_process(
        instance=get_instance(), tags=tags, raise_on_error=False).success


def check_results(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def step_failure(result, step: str) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_key == step:
            return event.event_specific_data.error.message
    raise AssertionError(f"{step} did not fail")


def alerts_log(home: Path) -> list[dict]:
    path = home / "alerts.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def failed_evaluation(instance, check: str, partition: str) -> dict:
    """The evidence of the trip the failed check recorded for the circuit (public API only)."""
    target = partition.rsplit("|", 1)[-1]
    trips = [e for e in circuit_events(instance, target).get(target, [])
             if e.kind == "trip" and e.check == check and e.partition == partition]
    assert trips, f"no failed evaluation of {check} on {partition}"
    return trips[-1].evidence


def test_drift_halts_only_that_target_opens_its_circuit_and_alerts_once(
        drift_env, fleet_env, sandbox, webhook):
    instance = drift_env
    for date in BEFORE:
        result = run(instance, date, "jobs")
        assert result.success, date
        assert len(check_results(result)) == len(DRIFT_CHECK_NAMES)
        assert all(e.passed for e in check_results(result).values())
    assert circuit_state(instance, "jobs").status == "closed"

    drifted = run(instance, D, "jobs")
    assert not drifted.success
    checks = check_results(drifted)
    assert not checks["required_field_coverage"].passed and not checks["schema_drift"].passed
    assert materialized(drifted) == {"raw_pages", "extracted_records"}
    stopped = [r.user_message for r in instance.all_logs(drifted.run_id)
               if r.step_key == "daily_aggregates" and r.user_message]
    assert len(stopped) == 1 and "Not executing" in stopped[0] and "drift_checks" in stopped[0]
    why = [r.dagster_event.step_failure_data.error.message
           for r in instance.all_logs(drifted.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
           if r.step_key == "drift_checks"]
    assert len(why) == 1 and "required_field_coverage" in why[0] and "schema_drift" in why[0]
    meta = failed_evaluation(instance, "required_field_coverage", f"{D}|jobs")
    assert meta["required_field_coverage"] == 0 and meta["pages_with_no_fields"] == 15
    assert len(meta["sample_urls"]) == 5 and all(f"/jobs/{D}/job/" in u for u in meta["sample_urls"])
    assert set(meta["missing_required_fields"]) == {"job_id", "title", "company", "salary", "remote"}
    assert failed_evaluation(instance, "schema_drift", f"{D}|jobs")["fields_never_found"] == [
        "job_id", "title", "company", "salary", "remote", "location"]
    store = LocalObjectStore(fleet_env)
    assert not store.exists(keys.table_key("aggregates", "jobs", D))
    assert all(store.exists(keys.table_key("aggregates", "jobs", d)) for d in BEFORE)

    # the circuit is open, as a fresh instance (another process, a restart) derives it
    states = circuit_states(get_instance(), ["jobs", "news", "shop"])
    assert states["jobs"].status == "open" and states["jobs"].evidence_partition == f"{D}|jobs"
    assert "coverage" in states["jobs"].reason and states["jobs"].since is not None
    assert states["news"].status == states["shop"].status == "closed"
    assert states == {t: circuit_state(instance, t) for t in states}

    # later partitions of jobs are refused before a single request, with the way out
    sandbox.reset_stats()
    for date in LATER:
        refused = run(instance, date, "jobs")
        assert not refused.success and not materialized(refused)
        message = step_failure(refused, "raw_pages")
        assert f"{D}|jobs" in message and "fleet reset-circuit jobs" in message
        assert "reset_circuit" in message
    assert sandbox.stats()["total"] == 0
    aggregates = run(instance, D, "jobs", ["daily_aggregates"])
    assert "fleet reset-circuit jobs" in step_failure(aggregates, "daily_aggregates")

    # the other targets' partitions for the same dates materialize fully, in parallel runs
    other_partitions = [*[(d, "news") for d in [*BEFORE, D, *LATER]], (D, "shop"), (LATER[0], "shop")]
    others = materialize_many(other_partitions, PIPELINE, workers=2)
    assert all(r.success for r in others), [r.error for r in others if not r.success]
    assert all(store.exists(keys.table_key("aggregates", t, d)) for d, t in other_partitions)

    assert len(webhook.received) == 1
    alert = webhook.received[0]
    assert alert["target"] == "jobs" and alert["partition"] == f"{D}|jobs"
    assert alert["reset_command"] == "fleet reset-circuit jobs"
    assert alert["check"] in {"required_field_coverage", "schema_drift", "min_records"}
    assert alert["evidence"]["sample_urls"]
    assert alerts_log(fleet_env) == webhook.received


def test_concurrent_failures_of_one_opening_send_exactly_one_alert(drift_env, fleet_env, webhook):
    # Drifted records of three days are stored before any verdict exists on them, as when
    # their runs overlap; their checks then fail at once in three processes.
    drifted = [D, *LATER]
    for date in drifted:
        assert run(drift_env, date, "jobs", RECORDS_ONLY).success
    env = {k: v for k, v in os.environ.items() if k.startswith(("FLEET_", "DAGSTER_"))}
    with ProcessPoolExecutor(max_workers=3, mp_context=get_context("spawn")) as pool:
        outcomes = list(pool.map(run_checks_in_child, drifted, [env] * 3))
    assert outcomes == [False, False, False]
    for date in drifted:  # every partition failed both blocking checks: six failures
        failed_evaluation(drift_env, "required_field_coverage", f"{date}|jobs")
        failed_evaluation(drift_env, "schema_drift", f"{date}|jobs")
    assert circuit_state(drift_env, "jobs").status == "open"
    assert len(webhook.received) == 1 and alerts_log(fleet_env) == webhook.received
    assert webhook.received[0]["partition"] in {f"{d}|jobs" for d in drifted}


def _fixed_targets(tmp_path: Path) -> Path:
    doc = yaml.safe_load((REPO_ROOT / "targets.yaml").read_text())
    jobs = next(t for t in doc["targets"] if t["name"] == "jobs")
    jobs["record"] = {
        "id": "job_id",
        "fields": {
            "job_id": {"css": "div.posting", "attr": "data-job", "type": "str"},
            "title": {"css": "h3.posting-role", "type": "str"},
            "company": {"css": "div.posting-org", "type": "str"},
            "salary": {"css": "div.posting-pay", "attr": "data-yearly", "type": "int"},
            "location": {"css": "div.posting-flags", "type": "str"},
        },
        "required": ["job_id", "title", "company", "salary"],
    }
    path = tmp_path / "fixed-targets.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _open_jobs_circuit(instance) -> None:
    result = run(instance, D, "jobs")
    assert not result.success and "daily_aggregates" not in materialized(result)
    assert circuit_state(instance, "jobs").status == "open"


def test_reset_with_fixed_rules_probe_passes_and_circuit_closes(
        drift_env, fleet_env, sandbox, webhook, tmp_path, monkeypatch, capsys):
    instance = drift_env
    _open_jobs_circuit(instance)
    monkeypatch.setenv("FLEET_TARGETS", str(_fixed_targets(tmp_path)))
    assert fleet_main(["reset-circuit", "jobs"]) == 0
    assert "half_open" in capsys.readouterr().out
    assert circuit_state(instance, "jobs").status == "half_open"

    probe = run(instance, "2025-06-13", "jobs")
    assert probe.success and "daily_aggregates" in materialized(probe)
    state = circuit_state(instance, "jobs")
    assert state.status == "closed" and "2025-06-13|jobs" in state.reason
    assert run(instance, "2025-06-14", "jobs").success
    # D's records are still the drifted ones: no aggregate is built from them
    assert "failed on the records" in step_failure(run(instance, D, "jobs", ["daily_aggregates"]),
                                                   "daily_aggregates")
    # re-materializing D re-parses its stored pages with the fixed rules, without refetching
    sandbox.reset_stats()
    redone = run(instance, D, "jobs")
    assert redone.success and "daily_aggregates" in materialized(redone)
    assert sandbox.stats()["total"] == 0
    assert len(webhook.received) == 1


def test_reset_with_broken_rules_probe_fails_and_circuit_reopens_with_a_new_alert(
        drift_env, fleet_env, webhook):
    instance = drift_env
    _open_jobs_circuit(instance)
    first = circuit_state(instance, "jobs")
    reset = reset_circuit_job.execute_in_process(
        instance=instance, run_config={"ops": {"reset_target_circuit": {"config": {"target": "jobs"}}}})
    assert reset.success
    assert circuit_state(instance, "jobs").status == "half_open"

    probe = run(instance, "2025-06-13", "jobs")
    assert not probe.success and "daily_aggregates" not in materialized(probe)
    state = circuit_state(instance, "jobs")
    assert state.status == "open" and state.evidence_partition == "2025-06-13|jobs"
    assert state.since > first.since and "probe after reset" in state.reason
    assert [a["partition"] for a in webhook.received] == [f"{D}|jobs", "2025-06-13|jobs"]
    assert len({a["opening"] for a in webhook.received}) == 2


def test_reset_of_an_unknown_target_names_the_known_ones(drift_env, capsys):
    assert fleet_main(["reset-circuit", "jbos"]) == 2
    err = capsys.readouterr().err
    assert "'jbos'" in err and "jobs" in err
    result = reset_circuit_job.execute_in_process(
        instance=drift_env, raise_on_error=False,
        run_config={"ops": {"reset_target_circuit": {"config": {"target": "jbos"}}}})
    assert not result.success


def test_captcha_interstitials_never_trigger_drift(drift_env, fleet_env, sandbox, webhook,
                                                   monkeypatch):
    # one of three proxies gets a 200 CAPTCHA page for every request: class B, rotated away
    monkeypatch.setenv("FLEET_PROXIES", ",".join(sandbox.proxy_urls))
    sandbox.set_faults({"captcha_clients": ["proxy-0"]})
    result = run(drift_env, BEFORE[0], "jobs", fetcher=FetcherResource(backoff_scale=0.001))
    assert result.success
    assert sandbox.stats()["faults"]["captcha"] > 0
    records = next(e for e in result.get_asset_materialization_events()
                   if e.asset_key.to_user_string() == "extracted_records")
    assert records.materialization.metadata["records"].value == 15
    checks = check_results(result)
    assert checks and all(e.passed for e in checks.values())
    # every client answers with a CAPTCHA: the partition fails as class B, never as drift
    sandbox.set_faults({"captcha_clients": ["proxy-0", "proxy-1", "proxy-2"]})
    blocked = run(drift_env, BEFORE[1], "jobs", fetcher=FetcherResource(backoff_scale=0.001))
    assert not blocked.success and not check_results(blocked)
    assert "(B)" in step_failure(blocked, "raw_pages")
    assert circuit_state(drift_env, "jobs").status == "closed"
    assert webhook.received == [] and alerts_log(fleet_env) == []


def _few_jobs_targets(tmp_path: Path, severity: str) -> Path:
    """jobs with 3 of its 15 URLs (a fifth of its usual volume) and the given volume severity."""
    doc = yaml.safe_load((REPO_ROOT / "targets.yaml").read_text())
    jobs = next(t for t in doc["targets"] if t["name"] == "jobs")
    jobs["urls"] = jobs["urls"][:3]
    jobs["drift"] = {"volume_window": 3, "volume_min_ratio": 0.5, "volume_severity": severity}
    path = tmp_path / f"few-jobs-{severity}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_volume_anomaly_warns_by_default_and_blocks_when_configured_as_error(
        fleet_env, sandbox, webhook, tmp_path, monkeypatch):
    instance = get_instance()
    register_targets(instance, ["jobs"])
    for date in ["2025-06-08", "2025-06-09", "2025-06-10"]:
        assert run(instance, date, "jobs").success

    monkeypatch.setenv("FLEET_TARGETS", str(_few_jobs_targets(tmp_path, "WARN")))
    warned = run(instance, "2025-06-11", "jobs")
    volume = check_results(warned)["volume_anomaly"]
    assert warned.success and "daily_aggregates" in materialized(warned)
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.WARN
    assert volume.metadata["baseline_median"].value == 15 and volume.metadata["records"].value == 3
    assert circuit_state(instance, "jobs").status == "closed" and webhook.received == []

    monkeypatch.setenv("FLEET_TARGETS", str(_few_jobs_targets(tmp_path, "ERROR")))
    blocked = run(instance, "2025-06-12", "jobs")
    assert not blocked.success and "daily_aggregates" not in materialized(blocked)
    assert check_results(blocked)["volume_anomaly"].severity == dg.AssetCheckSeverity.ERROR
    state = circuit_state(instance, "jobs")
    assert state.status == "open" and "volume_anomaly" in state.reason
    assert [a["check"] for a in webhook.received] == ["volume_anomaly"]


def test_a_broken_notifier_does_not_hide_the_drift_verdict(drift_env, fleet_env, webhook):
    (fleet_env / "not-a-dir").write_text("")
    broken = build_resources()["alerts"].model_copy(
        update={"log_path": str(fleet_env / "not-a-dir" / "alerts.log")})
    result = run(drift_env, D, "jobs", alerts=broken)
    assert not check_results(result)["required_field_coverage"].passed
    assert "daily_aggregates" not in materialized(result)
    assert circuit_state(drift_env, "jobs").status == "open"


@pytest.fixture
def postgres_instance():
    """A Dagster instance on a fresh PostgreSQL database (dropped afterwards)."""
    dagster_postgres = pytest.importorskip("dagster_postgres")
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"fleet_circuit_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres",
                                 connect_timeout=3)
    except psycopg2.OperationalError as exc:
        if settings.require_services():
            pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required: {exc}")
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    try:
        with dg.instance_for_test(overrides={"storage": {"postgres": {"postgres_url": url}}}) as inst:
            assert isinstance(inst.event_log_storage, dagster_postgres.PostgresEventLogStorage)
            yield inst
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.services
def test_circuit_on_postgresql_opens_resets_and_reopens(postgres_instance, fleet_env, sandbox,
                                                        webhook):
    instance = postgres_instance
    sandbox.set_faults({"drift_from": {"jobs": D}})
    register_targets(instance, ["jobs"])
    assert run(instance, BEFORE[1], "jobs").success
    assert not run(instance, D, "jobs").success
    assert circuit_state(instance, "jobs").status == "open"
    assert reset_circuit_job.execute_in_process(
        instance=instance,
        run_config={"ops": {"reset_target_circuit": {"config": {"target": "jobs"}}}}).success
    assert circuit_state(instance, "jobs").status == "half_open"
    assert not run(instance, LATER[0], "jobs").success
    state = circuit_state(instance, "jobs")
    assert state.status == "open" and state.evidence_partition == f"{LATER[0]}|jobs"
    assert len(webhook.received) == 2


def test_a_new_instance_over_the_same_store_alerts_its_own_openings(fleet_env, sandbox, webhook):
    sandbox.set_faults({"drift_from": {"jobs": D}})
    for _ in range(2):  # e.g. a wiped dev instance; the object store with the claims stays
        with dg.instance_for_test() as instance:
            register_targets(instance, ["jobs"])
            assert not run(instance, D, "jobs").success
            assert circuit_state(instance, "jobs").status == "open"
    assert len(webhook.received) == 2
    assert webhook.received[0]["opening"] != webhook.received[1]["opening"]


def test_the_circuit_reads_every_blocking_drift_check():
    assert sorted(key.name for c in DRIFT_CHECKS for key in c.check_keys) == sorted(DRIFT_CHECK_NAMES)
    assert all(spec.blocking for c in DRIFT_CHECKS for spec in c.check_specs)
    assert len(DRIFT_CHECKS) == 1  # one step evaluates them all (one step process, not four)


def test_the_ingest_job_stops_aggregates_of_a_drifted_partition(drift_env, fleet_env):
    defs = dg.Definitions(assets=ALL, jobs=[ingest_job], resources=build_resources())
    job = defs.resolve_job_def("ingest")
    ok = job.execute_in_process(instance=drift_env, partition_key=partition_key(BEFORE[1], "jobs"))
    assert ok.success
    drifted = job.execute_in_process(instance=drift_env, partition_key=partition_key(D, "jobs"),
                                     raise_on_error=False)
    assert not drifted.success
    assert {e.check_name for e in drifted.get_asset_check_evaluations() if not e.passed} == {
        "required_field_coverage", "schema_drift", "min_records"}  # a drifted page yields no record
    assert "daily_aggregates" not in materialized(drifted)
    store = LocalObjectStore(fleet_env)
    assert store.exists(keys.table_key("aggregates", "jobs", BEFORE[1]))
    assert not store.exists(keys.table_key("aggregates", "jobs", D))
