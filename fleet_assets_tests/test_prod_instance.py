"""The production instance (deploy/dagster.prod.yaml) on the running PostgreSQL.

Materializations, asset check results and a partitioned backfill (queued by `dagster job
backfill`, started by a real `dagster-daemon` under the per-target limit) are recorded in
PostgreSQL and read back by another instance and by SQL.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import fleet_partitions, partition_key, split
from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.resources import build_resources
from fleet_assets.resources.store import ObjectStoreResource
from fleet_assets.state.circuit import DRIFT_CHECK_NAMES
from fleet_assets.state.instance import register_targets

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAYS = ("2025-06-10", "2025-06-11")


@dg.asset_check(asset="raw_pages", partitions_def=fleet_partitions)
def every_page_settled(context: dg.AssetCheckExecutionContext,
                       store: ObjectStoreResource) -> dg.AssetCheckResult:
    """No page of the partition is still pending."""
    date, target = split(context)
    entries = mf.loads(store.get_store().get(keys.manifest_key(target, date)))
    pending = sum(e.status == mf.PENDING for e in entries)
    return dg.AssetCheckResult(passed=pending == 0, metadata={"pending": pending, "pages": len(entries)})


@pytest.fixture
def prod_home(fleet_env, postgres_db, monkeypatch):
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "deploy" / "dagster.prod.yaml", home / "dagster.yaml")
    for name, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432",
                        "DAGSTER_PG_USER": "postgres", "DAGSTER_PG_PASSWORD": "unused-trust-auth",
                        "DAGSTER_PG_DB": postgres_db, "FLEET_MAX_CONCURRENT_RUNS": "4"}.items():
        monkeypatch.setenv(name, value)
    return postgres_db


def sql(db, query, params=()):
    con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=db)
    try:
        with con.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()
    finally:
        con.close()


def backfill_state(instance: dg.DagsterInstance, partitions: list[str]) -> str | None:
    """``"done"`` when every partition has a successful run and no run is still going,
    ``"failed"`` as soon as a run failed and will not be retried, else None (keep waiting).

    Counting runs is not enough: a run retried by ``run_retries`` is a third run."""
    runs = instance.get_runs()
    if any(r.status == dg.DagsterRunStatus.FAILURE and r.tags.get("dagster/will_retry") != "true"
           for r in runs):
        return "failed"
    succeeded = {r.tags.get("dagster/partition") for r in runs
                 if r.status == dg.DagsterRunStatus.SUCCESS}
    if succeeded >= set(partitions) and all(r.is_finished for r in runs):
        return "done"
    return None


def run_report(instance: dg.DagsterInstance) -> str:
    """Each run's partition and status, and the messages of its failure events."""
    lines = []
    for run in instance.get_runs():
        lines.append(f"run {run.run_id} {run.tags.get('dagster/partition')} {run.status.value} "
                     f"retry={run.tags.get('dagster/will_retry')}")
        if run.status == dg.DagsterRunStatus.SUCCESS:
            continue
        for event in instance.all_logs(run.run_id):
            if event.dagster_event_type in (dg.DagsterEventType.STEP_FAILURE,
                                            dg.DagsterEventType.RUN_FAILURE,
                                            dg.DagsterEventType.ENGINE_EVENT):
                lines.append(f"  {event.dagster_event_type.value}: {event.message}"[:2000])
    return "\n".join(lines)


@pytest.mark.services
def test_prod_instance_uses_postgres_queue_limits_retries_and_no_local_compute_logs(prod_home):
    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.compute_log_manager).__name__ == "NoOpComputeLogManager"
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": "dagster/partition/target", "value": {"applyLimitPerUniqueValue": True},
                "limit": 1} in limits
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
    finally:
        instance.dispose()


@pytest.mark.services
def test_materializations_and_check_results_are_recorded_in_postgres(prod_home, sandbox):
    instance = dg.DagsterInstance.get()
    try:
        register_targets(instance, ["jobs"])
        result = dg.materialize([*ALL, every_page_settled], partition_key=partition_key(DAYS[0], "jobs"),
                                instance=instance, resources=build_resources())
        assert result.success
    finally:
        instance.dispose()

    reader = dg.DagsterInstance.get()  # a second instance: only what PostgreSQL holds
    try:
        for asset in ("raw_pages", "extracted_records", "daily_aggregates"):
            records = reader.fetch_materializations(dg.AssetKey(asset), limit=5).records
            assert [(r.run_id, r.partition_key) for r in records] == [(result.run_id, f"{DAYS[0]}|jobs")]
        stored = reader.fetch_materializations(dg.AssetKey("raw_pages"), limit=1).records[0]
        assert stored.asset_materialization.metadata["stored"].value > 0
        check_key = dg.AssetCheckKey(dg.AssetKey("raw_pages"), "every_page_settled")
        history = reader.event_log_storage.get_asset_check_execution_history(check_key, limit=5)
        assert len(history) == 1 and history[0].run_id == result.run_id
        assert history[0].status.value == "SUCCEEDED"
    finally:
        reader.dispose()
    rows = sql(prod_home, "SELECT count(*) FROM event_logs WHERE run_id = %s AND "
               "dagster_event_type = 'ASSET_MATERIALIZATION'", (result.run_id,))
    assert rows == [(3,)]
    # the test's own check and the pipeline's drift checks, all recorded in PostgreSQL
    assert sql(prod_home, "SELECT count(*) FROM asset_check_executions WHERE run_id = %s",
               (result.run_id,)) == [(1 + len(DRIFT_CHECK_NAMES),)]


@pytest.mark.services
def test_partitioned_backfill_runs_through_the_daemon_and_is_recorded_in_postgres(prod_home, sandbox,
                                                                                  tmp_path):
    instance = dg.DagsterInstance.get()
    register_targets(instance, ["jobs"])
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    partitions = ",".join(f"{d}|jobs" for d in DAYS)
    subprocess.run(
        [str(BIN / "dagster"), "job", "backfill", "-m", "fleet_assets.definitions", "-d", str(REPO),
         "-j", "ingest", "--partitions", partitions, "--noprompt"],
        env=env, cwd=REPO, check=True, timeout=120, capture_output=True,
    )
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "fleet_assets.definitions", "-d", str(REPO)],
        env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600  # a budget for two busy cores, not a benchmark
        while time.monotonic() < deadline:
            state = backfill_state(instance, partitions.split(","))
            if state is not None:
                break
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            time.sleep(1)
        else:
            pytest.fail("backfill runs did not finish in 600 s:\n" + run_report(instance)
                        + "\n" + (tmp_path / "daemon.log").read_text()[-3000:])
        assert state == "done", run_report(instance)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)
        log.close()
        instance.dispose()

    reader = dg.DagsterInstance.get()
    try:
        backfills = reader.get_backfills()
        assert len(backfills) == 1 and sorted(backfills[0].partition_names) == sorted(partitions.split(","))
        runs = reader.get_runs(filters=dg.RunsFilter.for_backfill(backfills[0].backfill_id))
        assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(partitions.split(","))
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), run_report(reader)
        # one target, limit 1 per target: the daemon ran the two partitions one after the other
        spans = sorted((rec.start_time, rec.end_time) for rec in reader.get_run_records(
            filters=dg.RunsFilter(run_ids=[r.run_id for r in runs])))
        assert spans[0][1] <= spans[1][0]
        materialized = reader.get_materialized_partitions(dg.AssetKey("daily_aggregates"))
        assert materialized == set(partitions.split(","))
    finally:
        reader.dispose()
