"""How the control plane grows with the fleet: N targets x D days of history on SQLite.

For each size it builds a fresh SQLite Dagster instance (the storage `dagster.yaml` gives the
fleet) holding, per date x target partition, what a real day leaves behind: a successful
run with its partition tags, the ``raw_pages`` and ``extracted_records`` materializations with
their metadata, three drift check evaluations, and the two per-target attempt observations
(``fleet/targets/<target>``) that ``fleet status`` reads; then, on the newest day, real
failed runs of 5% of the targets (at most 50: class A, due now, what the recovery sensor
reads), one target whose drift opened its circuit and one that was reset. Then it times,
best of ``--repeat``: the ``fleet_targets_sensor``, ``fleet_daily_sensor`` and
``fleet_recovery_sensor`` ticks, ``circuit_states``, ``fleet_health``'s table, ``fleet
status`` in this process and as a whole new command (``fleet_status_cmd``, imports included),
the definitions load (``import fleet_assets.definitions`` in a new process, with the N-target
file) and, with ``--ui``, the UI's partition-status GraphQL query for ``raw_pages`` (cold:
the first query of a new webserver; warm: best of ``--repeat``).

Writing 150,000 events one by one through Dagster costs 5-60 ms each (SQLAlchemy per event),
hours at 1,000 x 30; so one event of each kind is written through the public API and the
rest are copies of its stored row, inserted in batches with the standard ``sqlite3`` module
(only the partition, asset key, timestamp and numbers change). The instance then reads
them as it reads its own rows. Run:

    PYTHONPATH=. .venv/bin/python bench/bench_scale.py [--sizes 10x7,100x7,1000x30]
"""

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

os.environ.setdefault("FLEET_START_DATE", "2025-01-01")  # before the partitions are imported

import dagster as dg  # noqa: E402
import yaml  # noqa: E402

from bench.env import best  # noqa: E402
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, fleet_partitions  # noqa: E402
from fleet_assets.settings import LOCAL_INSTANCE_YAML, REPO_ROOT  # noqa: E402
from fleet_assets.state import history  # noqa: E402
from fleet_assets.state.circuit import record_verdict, reset_circuit  # noqa: E402

END = dt.date(2025, 6, 30)
P, T, D = "@@PARTITION@@", "@@TARGET@@", "@@DATE@@"
BATCH = 5000


def _raw_metadata(n: int) -> dict:
    """The shape of raw_pages' metadata (assets/raw_pages.py ``_metadata``)."""
    return {"pages": 30 + n % 7, "stored": 28, "gone": 1, "pending": 0, "listing_complete": True,
            "pending_A": 0, "pending_B": 0, "disallowed": 0, "newly_stored": 28, "carried_over": 0,
            "requests": 33, "listing_requests": 3, "bytes_stored": 412_000, "proxies_rotated": 0,
            "proxies_burned": 0, "attempt": 1, "page_attempts": 31, "tombstones_written": 1,
            "duration_seconds": dg.MetadataValue.float(2.5), "outcome_ok": 28, "outcome_A": 2,
            "outcome_B": 0, "outcome_D": 1, "ledger_ok": 28, "ledger_A": 2, "ledger_D": 1,
            "manifest_key": f"manifests/{T}/{D}.jsonl", "tombstones_key": f"tables/t/{T}/{D}.parquet"}


def _templates(instance: dg.DagsterInstance) -> None:
    """One event of each kind a partition leaves, written through the public API."""
    report = instance.report_runless_asset_event
    report(dg.AssetMaterialization("raw_pages", partition=P, metadata=_raw_metadata(0)))
    report(dg.AssetMaterialization("extracted_records", partition=P, metadata={
        "records": 28, "pages_parsed": 28, "pages_without_required_fields": 0, "outcome_C": 0,
        "required_field_coverage": dg.MetadataValue.float(1.0),
        "missing_required_fields": dg.MetadataValue.json({}),
        "fields_found": dg.MetadataValue.json({"title": 28, "price": 28}),
        "table_key": f"tables/records/{T}/{D}.parquet", "dagster/row_count": 28}))
    for check in ("required_field_coverage", "schema_drift", "volume_anomaly"):
        report(dg.AssetCheckEvaluation(asset_key=dg.AssetKey("extracted_records"), check_name=check,
                                       passed=True, partition=P, metadata={"summary": "ok"}))
    for step, meta in (("raw_pages", _raw_metadata(0)), ("extracted_records", {"outcome_C": 0})):
        report(history.attempt_observation(step, D, T, history.SUCCESS, meta, {}))


def _rows(db: Path, since: int) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("select run_id, event, dagster_event_type, timestamp, step_key, "
                            "asset_key, partition from event_logs where id > ? order by id",
                            (since,)).fetchall()


def build(home: Path, names: list[str], days: int) -> dict[str, float]:
    """Fill the instance under ``home``; returns the seconds each phase took."""
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    index = home / "history" / "runs" / "index.db"
    runs_db = home / "history" / "runs.db"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, names)
        _templates(instance)
        instance.add_run(dg.DagsterRun(job_name="ingest", status=dg.DagsterRunStatus.SUCCESS,
                                       tags={history.PARTITION_TAG: P, history.DATE_TAG: D,
                                             history.TARGET_TAG: T}))
    templates = _rows(index, 0)
    with contextlib.closing(sqlite3.connect(runs_db)) as conn:
        run_row = conn.execute("select snapshot_id, pipeline_name, mode, status, run_body, "
                               "partition, partition_set, run_id from runs").fetchone()
    dates = [(END - dt.timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
    events, runs, tags = [], [], []
    start = dt.datetime.fromisoformat(dates[0]).replace(tzinfo=dt.UTC).timestamp()
    for di, date in enumerate(dates):
        for ti, name in enumerate(names):
            ts = start + di * 86_400 + 7_200 + ti
            pk = f"{date}|{name}"
            for run_id, event, etype, _, step, asset_key, partition in templates:
                body = event.replace(P, pk).replace(D, date).replace(T, name)
                body = body.replace('"timestamp": ' + json.dumps(json.loads(event)["timestamp"]),
                                    f'"timestamp": {ts}')
                events.append((run_id, body, etype, dt.datetime.fromtimestamp(ts, dt.UTC)
                               .strftime("%Y-%m-%d %H:%M:%S.%f"), step,
                               asset_key and asset_key.replace(T, name),
                               partition and partition.replace(P, pk).replace(D, date)))
            run_id = str(uuid.uuid4())
            body = run_row[4].replace(run_row[7], run_id).replace(P, pk).replace(D, date)
            when = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            runs.append((run_id, run_row[0], run_row[1], run_row[2], run_row[3],
                         body.replace(T, name), run_row[5], run_row[6], when, when))
            tags += [(run_id, history.PARTITION_TAG, pk), (run_id, history.DATE_TAG, date),
                     (run_id, history.TARGET_TAG, name)]
    took["prepare"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    with contextlib.closing(sqlite3.connect(index)) as conn:
        for i in range(0, len(events), BATCH):
            conn.executemany("insert into event_logs (run_id, event, dagster_event_type, timestamp, "
                             "step_key, asset_key, partition) values (?,?,?,?,?,?,?)",
                             events[i:i + BATCH])
            conn.commit()
        keys = {row[5] for row in events if row[5]}
        have = {r[0] for r in conn.execute("select asset_key from asset_keys")}
        conn.executemany("insert into asset_keys (asset_key) values (?)",
                         [(k,) for k in sorted(keys - have)])
        conn.execute("delete from asset_keys where asset_key like ?", (f"%{T}%",))
        # The stored latest materialization is the template's: let Dagster look it up instead.
        conn.execute("update asset_keys set last_materialization = null, last_run_id = null")
        conn.execute("delete from event_logs where asset_key like ? or partition like ?",
                     (f"%{T}%", f"%{P}%"))
        conn.commit()
    with contextlib.closing(sqlite3.connect(runs_db)) as conn:
        conn.execute("delete from run_tags")
        conn.execute("delete from runs")
        conn.executemany("insert into runs (run_id, snapshot_id, pipeline_name, mode, status, "
                         "run_body, partition, partition_set, create_timestamp, update_timestamp) "
                         "values (?,?,?,?,?,?,?,?,?,?)", runs)
        conn.executemany("insert into run_tags (run_id, key, value) values (?,?,?)", tags)
        conn.commit()
    took["insert"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        _failures(instance, names, dates[-1])
        _circuits(instance, names, dates[-1])
    took["real runs"] = time.perf_counter() - t2
    return took


def _failing_raw_pages(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    with history.AttemptReport(context):
        raise dg.Failure(description="12 page(s) pending with class A (attempts exhausted)",
                         allow_retries=False,
                         metadata={"failure_class": "A", "due_at": dg.MetadataValue.float(time.time()),
                                   "ledger_A": 12, "ledger_ok": 18, "pending_A": 12})


def _failures(instance: dg.DagsterInstance, names: list[str], date: str) -> None:
    """Real failed runs (their step failure events are what the recovery sensor reads)."""
    asset = dg.asset(name="raw_pages", partitions_def=fleet_partitions)(_failing_raw_pages)
    for name in names[:: 20][:50]:
        dg.materialize([asset], instance=instance, raise_on_error=False,
                       partition_key=dg.MultiPartitionKey({"date": date, "target": name}))


def _circuits(instance: dg.DagsterInstance, names: list[str], date: str) -> None:
    report = instance.report_runless_asset_event
    for name in names[1:3]:
        record_verdict(report, instance, f"{date}|{name}", "schema_drift", False, "ERROR",
                       "fields never found: title")
    reset_circuit(instance, names[2], by="bench")


def _targets_file(path: Path, names: list[str]) -> Path:
    doc = yaml.safe_load((REPO_ROOT / "targets.yaml").read_text())
    shop = next(t for t in doc["targets"] if t["name"] == "shop")
    doc["targets"] = [{**shop, "name": name} for name in names]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def measure(home: Path, names: list[str], targets: Path, repeat: int) -> dict[str, float]:
    from fleet_assets.assets.health import fleet_health_table
    from fleet_assets.automation.sensors import (
        build_daily_sensor,
        build_recovery_sensor,
        fleet_targets_sensor,
    )
    from fleet_assets.cli.main import main as fleet_main
    from fleet_assets.lib.store.local import LocalObjectStore
    from fleet_assets.lib.targets import load_targets
    from fleet_assets.state.circuit import circuit_states

    later = dt.datetime.combine(END + dt.timedelta(days=1), dt.time(23), dt.UTC)
    daily = build_daily_sensor(clock=lambda: later)
    due = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # the failures are due now
    recovery = build_recovery_sensor(clock=lambda: due)
    out: dict[str, float] = {}
    os.environ.update(DAGSTER_HOME=str(home), FLEET_TARGETS=str(targets),
                      FLEET_HOME=str(home / "fleet"))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        def tick(sensor):
            return lambda: sensor(dg.build_sensor_context(instance=instance))
        out["targets_sensor"] = best(tick(fleet_targets_sensor), repeat)
        out["daily_sensor"] = best(tick(daily), repeat)
        requested = daily(dg.build_sensor_context(instance=instance))
        # every target but the open and the half-open one is requested
        assert len(requested.run_requests) == len(names) - 2, requested
        out["recovery_sensor"] = best(tick(recovery), repeat)
        recovered = recovery(dg.build_sensor_context(instance=instance))
        assert len(recovered.run_requests) == min(50, len(names[::20])), "each failure recovered"
        out["circuit_states"] = best(lambda: circuit_states(instance, names), repeat)
        configured = load_targets(targets)
        store = LocalObjectStore(home / "fleet")  # where fleet status (FLEET_HOME) keeps it
        # The first call folds the whole history into the store's snapshot; later ones only
        # what is new (the fleet_health schedule keeps it fresh every 15 minutes).
        out["fleet_health_cold"] = best(lambda: fleet_health_table(instance, configured, store=store), 1)
        out["fleet_health"] = best(lambda: fleet_health_table(instance, configured, store=store),
                                   repeat)
    with contextlib.redirect_stdout(io.StringIO()):
        out["fleet_status"] = best(lambda: fleet_main(["status"]), repeat)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    fleet = [sys.executable, "-c", "import sys; from fleet_assets.cli.main import main; "
             "sys.exit(main())", "status"]
    def command() -> None:
        done = subprocess.run(fleet, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"fleet status failed: {done.stderr[-2000:]}")

    out["fleet_status_cmd"] = best(command, repeat)
    return out


PARTITION_STATS = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
  ... on AssetNode { partitionStats { numMaterialized numPartitions numFailed } } } }"""


def ui_partition_status(home: Path, targets: Path, repeat: int) -> tuple[float, float]:
    """Cold and warm time of the UI's partition-status query for raw_pages (a webserver)."""
    import requests

    from fleet_assets_tests.dagster_services import free_port

    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "FLEET_TARGETS": str(targets),
           "PYTHONPATH": str(REPO_ROOT), "NO_PROXY": "127.0.0.1"}
    web = subprocess.Popen([str(Path(sys.executable).parent / "dagster-webserver"), "-w",
                            str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
                           cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/graphql"

    def query() -> None:
        body = {"query": PARTITION_STATS, "variables": {"key": {"path": ["raw_pages"]}}}
        data = requests.post(url, json=body, timeout=300, proxies={"http": ""}).json()
        stats = data["data"]["assetNodeOrError"]["partitionStats"]
        assert stats["numPartitions"] > 0, data

    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                requests.post(url, json={"query": "{ version }"}, timeout=5, proxies={"http": ""})
                break
            except requests.RequestException:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise RuntimeError("the webserver did not start") from None
                time.sleep(1)
        cold = best(query, 1)
        return cold, best(query, repeat)
    finally:
        web.terminate()
        web.wait(timeout=30)


def definitions_load(repeat: int, targets: Path | None = None) -> float:
    """``import fleet_assets.definitions`` in a new process (one plot asset per target)."""
    code = "import fleet_assets.definitions"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    if targets is not None:
        env["FLEET_TARGETS"] = str(targets)
    return best(lambda: subprocess.run([sys.executable, "-c", code], env=env, check=True), repeat)


COLUMNS = ("definitions", "targets_sensor", "daily_sensor", "recovery_sensor", "circuit_states",
           "fleet_health_cold", "fleet_health", "fleet_status", "fleet_status_cmd")


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10x7,100x7,1000x7,10x30,100x30,1000x30",
                        help="N targets x D days, comma separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ui", action="store_true",
                        help="also time the UI's partition-status GraphQL query (a webserver)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    columns = [*COLUMNS, *(("ui_status_cold", "ui_status") if args.ui else ())]
    print(f"{'N x D':>9} {'build s':>8} " + " ".join(f"{c:>15}" for c in columns))
    for size in args.sizes.split(","):
        n, d = (int(x) for x in size.lower().split("x"))
        names = [f"t{i:04d}" for i in range(n)]
        with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
            home = Path(tmp)
            (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML.read_text())
            t = time.perf_counter()
            build(home, names, d)
            built = time.perf_counter() - t
            targets = _targets_file(home / "targets.yaml", names)
            timings = measure(home, names, targets, args.repeat)
            timings["definitions"] = definitions_load(args.repeat, targets)
            if args.ui:
                timings["ui_status_cold"], timings["ui_status"] = ui_partition_status(
                    home, targets, args.repeat)
        print(f"{size:>9} {built:>8.1f} " + " ".join(f"{timings[c]:>15.3f}" for c in columns),
              flush=True)


if __name__ == "__main__":
    main()
