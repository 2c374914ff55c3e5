"""The code location as the UI shows it: dg loads it, one location name, complete asset pages."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import dagster as dg
import pytest
import yaml

from fleet_assets import settings
from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.definitions import defs
from fleet_assets.lib import tables
from fleet_assets.resources import build_resources

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PIPELINE = ("raw_pages", "extracted_records", "daily_aggregates")
MODULES = {"raw_pages": "raw_pages.py", "extracted_records": "records.py",
           "daily_aggregates": "aggregates.py", "fleet_health": "health.py"}


def _specs() -> dict[str, dg.AssetSpec]:
    repo = defs.get_repository_def()
    return {k.to_user_string(): a.specs_by_key[k] for k, a in repo.assets_defs_by_key.items()}


def test_dg_check_defs_passes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "DAGSTER_HOME": str(tmp_path),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(BIN / "dg"), "check", "defs"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


def test_loading_the_code_location_prints_no_warning(tmp_path):
    """`dg dev`'s code server printed Dagster's PreviewWarning for the partitioned checks."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env.update(PYTHONPATH=str(REPO), DAGSTER_HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", "import fleet_assets.definitions"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_one_location_name_everywhere():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    entry = workspace["load_from"][0]["python_module"]
    assert project["tool"]["dg"]["project"]["code_location_name"] == "fleet_assets"
    assert project["tool"]["dagster"]["code_location_name"] == "fleet_assets"
    assert entry["location_name"] == "fleet_assets"
    assert entry["module_name"] == project["tool"]["dg"]["project"]["code_location_target_module"]
    assert "dagster-dg-cli==1.13.27" in project["project"]["dependencies"]


def test_every_asset_page_has_owners_tags_and_code_references():
    specs = _specs()
    assert set(PIPELINE) | {"fleet_health"} <= set(specs)
    for name, spec in specs.items():
        assert spec.owners, name
        assert spec.tags.get("stage"), name
        refs = spec.metadata.get("dagster/code_references")
        assert refs is not None, name
        [ref] = refs.code_references
        if name.startswith("fleet/targets/"):  # one external asset per target (its plots)
            line = Path(ref.file_path).read_text().splitlines()[ref.line_number - 1]
            assert Path(ref.file_path).name == "health.py", (name, ref.file_path)
            assert line.startswith("def target_history_specs("), (name, ref)
            continue
        # The body's own module (the asset function, whatever its body calls).
        assert Path(ref.file_path).name == MODULES[name], (name, ref.file_path)
        lines = Path(ref.file_path).read_text().splitlines()[ref.line_number - 1:ref.line_number + 15]
        assert any(line.startswith(f"def {name}(") for line in lines), (name, ref)
        assert "storage" not in spec.kinds, name
    assert "html" in specs["raw_pages"].kinds


@pytest.mark.parametrize(("asset", "table"), [("extracted_records", "records"),
                                              ("daily_aggregates", "aggregates")])
def test_table_assets_declare_their_parquet_columns(asset, table):
    schema = _specs()[asset].metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns] == tables.SCHEMAS[table].names
    pk = set(tables.PRIMARY_KEYS[table])
    assert {c.name for c in schema.columns if c.constraints.unique} == pk


def test_every_job_and_schedule_has_a_description():
    repo = defs.get_repository_def()
    for job in repo.get_all_jobs():
        if not job.name.startswith("__"):
            assert job.description, job.name
    for schedule in repo.schedule_defs:
        assert schedule.description, schedule.name
    for sensor in repo.sensor_defs:
        assert sensor.description, sensor.name


def test_start_date_setting(monkeypatch):
    monkeypatch.delenv("FLEET_START_DATE", raising=False)
    assert settings.start_date() == settings.DEFAULT_START_DATE
    monkeypatch.setenv("FLEET_START_DATE", "2026-02-01")
    assert settings.start_date() == "2026-02-01"
    monkeypatch.setenv("FLEET_START_DATE", "2026-02-30")
    with pytest.raises(ValueError, match="FLEET_START_DATE='2026-02-30'.*YYYY-MM-DD"):
        settings.start_date()


def test_tables_report_their_row_count(fleet_env, sandbox):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
        result = dg.materialize(ALL, partition_key=partition_key("2025-06-10", "jobs"),
                                instance=instance, resources=build_resources())
        mats = {}
        for event in result.get_asset_materialization_events():
            mat = event.event_specific_data.materialization
            mats[mat.asset_key.to_user_string()] = mat.metadata
    records = mats["extracted_records"]
    assert records["dagster/row_count"].value == records["records"].value > 0
    aggregates = mats["daily_aggregates"]
    assert aggregates["dagster/row_count"].value >= 2  # records and distinct_items at least
