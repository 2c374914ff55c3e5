"""The per-target history: every attempt counted from the manifest ledger, read flat."""

from __future__ import annotations

import json
import uuid
import warnings

import dagster as dg
import yaml

from fleet_assets.assets import ALL
from fleet_assets.assets.health import fleet_health_table
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.cli.launch import INGEST
from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.resources import build_resources
from fleet_assets.resources.fetcher import FetcherResource
from fleet_assets.settings import REPO_ROOT
from fleet_assets.state import history

DATES = ["2025-06-09", "2025-06-10", "2025-06-11"]


def _targets_file(tmp_path):
    spec = yaml.safe_load((REPO_ROOT / "targets.yaml").read_text())
    spec["defaults"]["retry"] = {c: {"max_attempts": 6, "base_seconds": 0.01, "cap_seconds": 0.02}
                                 for c in ("A", "B")}
    path = tmp_path / f"targets-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_status_counts_every_attempt_as_the_manifests_do(fleet_env, sandbox, tmp_path, monkeypatch):
    targets_file = _targets_file(tmp_path)
    monkeypatch.setenv("FLEET_TARGETS", str(targets_file))
    sandbox.set_faults({"seed": 7, "transient_rate": 0.2, "rate_limit_rate": 0.1, "retry_after": 0,
                        "gone_rate": 0.2, "only_targets": ["shop"]})
    resources = {**build_resources(), "fetcher": FetcherResource(backoff_scale=0.001)}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["shop"])
        for date in DATES:
            dg.materialize(ALL, selection=list(INGEST), partition_key=partition_key(date, "shop"),
                           instance=instance, resources=resources, raise_on_error=False,
                           tags={"dagster/max_retries": "0"})
        [health] = [h for h in fleet_health_table(instance, load_targets(targets_file))
                    if h.target == "shop"]
        store = LocalObjectStore(fleet_env)
        ledger: dict[str, int] = {}
        retried = 0
        for date in DATES:
            entries = mf.loads(store.get(keys.manifest_key("shop", date)))
            retried += sum(e.attempts > 1 for e in entries)
            for label, n in mf.ledger(entries).items():
                ledger[label] = ledger.get(label, 0) + n
    assert retried > 0  # pages needed more than one attempt: the final attempt alone undercounts
    assert ledger["A"] > 0 and ledger["B"] > 0 and ledger["D"] > 0
    assert {c: health.counts[c] for c in "ABD"} == {c: ledger.get(c, 0) for c in "ABD"}


def _attempt(instance, step, date, outcome, metadata, tags=None):
    instance.report_runless_asset_event(
        history.attempt_observation(step, date, "shop", outcome, metadata, tags or {}))


def test_observations_take_the_newest_attempt_per_date_and_the_runs_in_flight():
    with dg.instance_for_test() as instance:
        _attempt(instance, "raw_pages", "2025-06-10", "failure", {"failure_class": "A", "ledger_A": 3})
        _attempt(instance, "raw_pages", "2025-06-10", "success", {"ledger_A": 4, "ledger_ok": 5},
                 {history.RECOVERY_NUMBER_TAG: "1"})
        _attempt(instance, "extracted_records", "2025-06-10", "success", {"outcome_C": 2})
        _attempt(instance, "raw_pages", "2025-06-11", "failure",
                 {"failure_class": "B", "due_at": 5.0, "ledger_B": 6})
        _attempt(instance, "raw_pages", "2025-06-09", "retry", {})  # its run died mid-retry
        instance.add_run(dg.DagsterRun(job_name="ingest", run_id=str(uuid.uuid4()),
                                       status=dg.DagsterRunStatus.STARTED,
                                       tags={history.TARGET_TAG: "shop", history.DATE_TAG: "2025-06-12",
                                             history.RECOVERY_TAG: "true",
                                             history.RECOVERY_NUMBER_TAG: "2"}))
        obs = history.observations(instance, ["shop", "news"], recent_dates=3)
        assert obs["news"] == []
        assert [o.date for o in obs["shop"]] == ["2025-06-12", "2025-06-11", "2025-06-10"]
        running, blocked, recovered = obs["shop"]
        assert running.run_status == "started" and running.is_recovery and running.recoveries == 2
        assert blocked.run_status == "failure" and blocked.failure_class == "B"
        assert blocked.outcomes["B"] == 6 and blocked.succeeded_at is None
        assert recovered.run_status == "success" and recovered.recoveries == 1
        assert recovered.outcomes == {"ok": 5, "A": 4, "B": 0, "C": 2, "D": 0}
        died = history.observations(instance, ["shop"], recent_dates=5)["shop"][-1]
        assert died.date == "2025-06-09" and died.run_status == "failure"
        assert died.failure_class is None  # reported as unclassified, never as healthy


def test_the_snapshot_reads_only_what_is_new_and_equals_the_full_fold(tmp_path):
    store = LocalObjectStore(tmp_path)
    with dg.instance_for_test() as instance:
        _attempt(instance, "raw_pages", "2025-06-10", "failure", {"failure_class": "B", "ledger_B": 2})
        first = history.observations(instance, ["shop"], store=store)
        cursor = json.loads(store.get(history.SNAPSHOT_KEY))["cursor"]
        assert first == history.observations(instance, ["shop"])
        _attempt(instance, "raw_pages", "2025-06-10", "success", {"ledger_B": 2, "ledger_ok": 9},
                 {history.RECOVERY_NUMBER_TAG: "1"})
        _attempt(instance, "raw_pages", "2025-06-11", "success", {"ledger_ok": 9})
        second = history.observations(instance, ["shop"], store=store)
        assert second == history.observations(instance, ["shop"])
        assert json.loads(store.get(history.SNAPSHOT_KEY))["cursor"] > cursor
        assert [(o.date, o.run_status, o.recoveries) for o in second["shop"]] == [
            ("2025-06-11", "success", 0), ("2025-06-10", "success", 1)]
        store.put(history.SNAPSHOT_KEY, b"not json")  # unreadable: rebuilt, never an error
        assert history.observations(instance, ["shop"], store=store) == second


def test_reading_the_history_warns_nothing(tmp_path):
    """`fleet status` printed Dagster's "Use fetch_observations" UserWarning on every call."""
    with dg.instance_for_test() as instance:
        _attempt(instance, "raw_pages", "2025-06-10", "success", {"ledger_ok": 3})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obs = history.observations(instance, ["shop"], store=LocalObjectStore(tmp_path))
        assert [o.date for o in obs["shop"]] == ["2025-06-10"]
        assert [str(w.message) for w in caught] == []
