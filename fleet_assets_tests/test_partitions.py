"""The fleet's partitions: a day by a target, keyed and split back the same way."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest

from fleet_assets.automation.partitions import (
    START_DATE,
    TARGETS_PARTITIONS,
    fleet_partitions,
    partition_key,
    split,
)
from fleet_assets.settings import REPO_ROOT


def test_a_partition_key_splits_back_into_its_date_and_target():
    key = partition_key("2025-06-10", "shop")
    assert key.keys_by_dimension == {"date": "2025-06-10", "target": "shop"}
    assert split(dg.build_asset_context(partition_key=key)) == ("2025-06-10", "shop")


def test_a_key_that_is_not_date_by_target_is_refused_naming_it():
    with pytest.raises(ValueError, match="expected a date\\|target partition, got '2025-06-10'"):
        split(dg.build_asset_context(partition_key="2025-06-10"))


def test_days_start_at_the_configured_start_and_targets_are_the_dynamic_set():
    dims = {d.name: d.partitions_def for d in fleet_partitions.partitions_defs}
    assert dims["date"].start.date().isoformat() == START_DATE
    assert isinstance(dims["target"], dg.DynamicPartitionsDefinition)
    assert dims["target"].name == TARGETS_PARTITIONS


def test_a_bad_start_date_stops_the_import_with_the_setting_and_the_fix():
    proc = subprocess.run(
        [sys.executable, "-c", "import fleet_assets.automation.partitions"],
        env={"PATH": "", "PYTHONPATH": str(REPO_ROOT), "FLEET_START_DATE": "06/10/2025"},
        capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "FLEET_START_DATE='06/10/2025' is not a date; write it as YYYY-MM-DD" in proc.stderr
