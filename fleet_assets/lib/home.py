"""Where the embedded default keeps its data.

Reads ``FLEET_HOME`` (default ``.fleet/`` in the repository) and ``FLEET_TARGETS`` (default
``targets.yaml`` in the repository). Under ``FLEET_HOME``: ``dagster_home/`` (the Dagster
instance, SQLite), ``raw/`` and ``tables/`` (the local object store) and ``warehouse.duckdb``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def fleet_home() -> Path:
    return Path(os.environ.get("FLEET_HOME") or REPO_ROOT / ".fleet").resolve()


def dagster_home() -> Path:
    return fleet_home() / "dagster_home"


def warehouse_path() -> Path:
    return fleet_home() / "warehouse.duckdb"


def targets_path() -> Path:
    return Path(os.environ.get("FLEET_TARGETS") or REPO_ROOT / "targets.yaml").resolve()
