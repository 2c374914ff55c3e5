"""One partition end to end on Dagster's Celery executor, with a real `dagster-celery worker`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import dagster as dg
import pytest
import yaml
from kombu import Connection

from fleet_assets.assets import ALL
from fleet_assets.automation.celery import build_celery_job, celery_config
from fleet_assets.automation.partitions import partition_key
from fleet_assets.lib import keys
from fleet_assets.resources import build_resources
from fleet_assets.state.instance import register_targets
from fleet_assets_tests.services import RABBITMQ, postgres_storage, require_service

DATE = "2025-06-10"
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 240
BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"


def celery_ingest():
    """The ingest_celery job as the test and the worker both rebuild it (module level)."""
    defs = dg.Definitions(assets=ALL, jobs=[build_celery_job(celery_config())],
                          resources=build_resources())
    return defs.resolve_job_def("ingest_celery")


@pytest.fixture
def worker(fleet_env, postgres_db, monkeypatch, tmp_path):
    require_service(*RABBITMQ)
    queue = f"fleet_test_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("FLEET_CELERY_BROKER", BROKER)
    monkeypatch.setenv("FLEET_CELERY_QUEUE", queue)
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "storage": postgres_storage(postgres_db), "telemetry": {"enabled": False}}))
    config = tmp_path / "celery.yaml"
    config.write_text(yaml.safe_dump({"execution": {"config": {
        "broker": BROKER, "backend": "rpc://",
        "config_source": {"task_default_queue": queue}}}}))
    env = {**os.environ,
           "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
           # the worker rebuilds the job from this module, imported by pytest as `test_celery`
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "fleet_assets_tests"),
                                          os.environ.get("PYTHONPATH", "")])}
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config),
         "-q", queue, "--", "--concurrency=1", "--without-mingle", "--without-gossip"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while "ready." not in (tmp_path / "worker.log").read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("dagster-celery worker did not start:\n"
                            + (tmp_path / "worker.log").read_text()[-3000:])
            time.sleep(0.3)
        yield proc, tmp_path / "worker.log"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
        with Connection(BROKER) as conn:  # leave no queue behind on the shared broker
            conn.default_channel.queue_delete(queue)


@pytest.mark.services
def test_one_partition_runs_end_to_end_on_a_celery_worker(worker, sandbox):
    proc, log = worker
    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        register_targets(instance, ["jobs"])
        tags = celery_ingest().partitions_def.get_tags_for_partition_key(partition_key(DATE, "jobs"))
        # bounded: a run whose tasks nobody executes would wait for the broker forever
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(dg.execute_job, dg.reconstructable(celery_ingest),
                                 instance=instance, tags=dict(tags))
            try:
                result = future.result(timeout=RUN_TIMEOUT)
            except FutureTimeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pytest.fail(f"celery run did not finish in {RUN_TIMEOUT}s:\n{log.read_text()[-3000:]}")
        assert proc.poll() is None, log.read_text()[-2000:]
        assert result.success, log.read_text()[-2000:]
        events = instance.all_logs(result.run_id)
        submitted = [e for e in events if "Submitting celery task" in (e.user_message or "")]
        # every step (the three assets and the drift checks) submitted to the broker exactly once
        steps = [e.step_key for e in submitted]
        assert {"raw_pages", "extracted_records", "daily_aggregates"} <= set(steps)
        assert len(steps) == len(set(steps)) >= 3
        step_pids = {e.dagster_event.pid for e in events if e.is_dagster_event
                     and e.dagster_event.event_type_value == "STEP_START"}
        assert step_pids and os.getpid() not in step_pids  # the steps ran in the worker
        mats = instance.fetch_materializations(dg.AssetKey("raw_pages"), limit=10).records
        assert [m.partition_key for m in mats] == [f"{DATE}|jobs"]
        assert mats[0].run_id == result.run_id
        assert mats[0].asset_materialization.metadata["stored"].value > 0
    finally:
        instance.dispose()
    home = Path(os.environ["FLEET_HOME"])
    assert (home / keys.table_key("aggregates", "jobs", DATE)).exists()
