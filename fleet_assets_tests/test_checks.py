"""checks.py: the drift checks judge the typed records report, across partitions for volume."""

from __future__ import annotations

import gzip

import dagster as dg
from test_records import TARGETS_YAML, entry, page

from fleet_assets.assets.records import extracted_records
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.checks import DRIFT_CHECKS
from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources import build_resources

DAYS = ("2026-11-06", "2026-11-07", "2026-11-08", "2026-11-09")


def setup(tmp_path, monkeypatch) -> tuple[dg.DagsterInstance, LocalObjectStore]:
    (tmp_path / "targets.yaml").write_text(TARGETS_YAML)
    monkeypatch.setenv("FLEET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLEET_TARGETS", str(tmp_path / "targets.yaml"))
    monkeypatch.delenv("FLEET_ENV", raising=False)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
    return instance, LocalObjectStore(tmp_path / "home")


def day(instance, store, date: str, n: int):
    """Store ``n`` good pages for ``date`` and materialize extracted_records with its checks."""
    bodies = {f"http://j/{date}/{i}": page(f"R{i}") for i in range(n)}
    entries = []
    for url, body in bodies.items():
        e = entry(url, body=body)
        e = mf.ManifestEntry(**{**e.__dict__, "natural_key": keys.natural_key(url, date),
                                "object_key": keys.raw_page_key("jobs", date, keys.natural_key(url, date))})
        store.put_if_absent(e.object_key, gzip.compress(body, mtime=0))
        entries.append(e)
    store.put(keys.manifest_key("jobs", date), mf.dumps(entries))
    return dg.materialize([extracted_records, *DRIFT_CHECKS], instance=instance,
                          partition_key=partition_key(date, "jobs"), resources=build_resources(),
                          raise_on_error=False)


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_drop_in_volume_warns_against_the_median_of_healthy_days(tmp_path, monkeypatch):
    instance, store = setup(tmp_path, monkeypatch)
    for date in DAYS[:3]:
        assert day(instance, store, date, 10).success
    result = day(instance, store, DAYS[3], 2)
    volume = evaluations(result)["volume_anomaly"]
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.WARN
    assert volume.metadata["baseline_median"].value == 10
    assert result.success  # WARN reports, it does not block


def test_one_drift_check_can_run_alone_and_each_keeps_its_own_result(tmp_path, monkeypatch):
    """The four checks share one step, but the UI can still run one of them by itself."""
    instance, store = setup(tmp_path, monkeypatch)
    assert day(instance, store, DAYS[0], 3).success
    assert set(evaluations(dg.materialize(
        [extracted_records, *DRIFT_CHECKS], instance=instance, resources=build_resources(),
        partition_key=partition_key(DAYS[0], "jobs"), raise_on_error=False,
        selection=dg.AssetSelection.assets("extracted_records").without_checks()
        | dg.AssetSelection.checks(dg.AssetCheckKey(dg.AssetKey("extracted_records"), "min_records")),
    ))) == {"min_records"}
    steps = {e.step_key for e in day(instance, store, DAYS[1], 3).all_events
             if e.event_type_value == "STEP_START"}
    assert len(steps) == 2  # extracted_records and one step for the four checks


def test_a_failed_check_in_the_shared_step_still_reports_the_other_three(tmp_path, monkeypatch):
    instance, store = setup(tmp_path, monkeypatch)
    result = day(instance, store, DAYS[0], 0)  # nothing to extract: min_records fails
    found = evaluations(result)
    assert set(found) == {"required_field_coverage", "schema_drift", "min_records",
                          "volume_anomaly"}
    assert not found["min_records"].passed and not result.success
