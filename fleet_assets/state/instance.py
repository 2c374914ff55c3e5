"""The embedded Dagster instance under ``$FLEET_HOME/dagster_home`` and target registration."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

import dagster as dg

from fleet_assets.automation.partitions import TARGETS_PARTITIONS
from fleet_assets.settings import REPO_ROOT, dagster_home


def prepare_home() -> str:
    """Create DAGSTER_HOME with the repository's dagster.yaml and export it."""
    home = os.environ.get("DAGSTER_HOME") or str(dagster_home())
    os.makedirs(home, exist_ok=True)
    src, dst = REPO_ROOT / "dagster.yaml", os.path.join(home, "dagster.yaml")
    if src.exists() and not os.path.exists(dst):
        shutil.copyfile(src, dst)
    os.environ["DAGSTER_HOME"] = home
    return home


def get_instance() -> dg.DagsterInstance:
    prepare_home()
    return dg.DagsterInstance.get()


def register_targets(instance: dg.DagsterInstance, names: Iterable[str]) -> list[str]:
    """Add target names missing from the dynamic ``targets`` partitions; returns the added."""
    existing = set(instance.get_dynamic_partitions(TARGETS_PARTITIONS))
    added = sorted(set(names) - existing)
    if added:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, added)
    return added
