"""Helpers shared by the retry tests: a targets file with overrides, a raw_pages run, events."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources import build_resources
from fleet_assets.resources.fetcher import FetcherResource
from fleet_assets.resources.targets import TargetsResource

REPO = Path(__file__).resolve().parents[1]
FAST = {"backoff_scale": 0.001, "max_in_run_wait_seconds": 10.0}


def targets_file(tmp_path: Path, **overrides: dict[str, Any]) -> str:
    """targets.yaml with ``overrides[target]`` merged into that target's mapping."""
    doc = yaml.safe_load((REPO / "targets.yaml").read_text())
    for t in doc["targets"]:
        t.update(overrides.get(t["name"], {}))
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def run(instance: dg.DagsterInstance, date: str, target: str, targets_path: str,
        fetcher: FetcherResource | None = None, selection: list[str] | None = None):
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, [target])
    resources = build_resources()
    resources["targets"] = TargetsResource(path=targets_path)
    resources["fetcher"] = fetcher or FetcherResource(**FAST)
    return dg.materialize(
        ALL, selection=selection or ["raw_pages"], partition_key=partition_key(date, target),
        instance=instance, resources=resources, raise_on_error=False,
    )


def events(result, kind: dg.DagsterEventType) -> list[dg.DagsterEvent]:
    return [e for e in result.all_events if e.event_type == kind]


def retries(result) -> list[dg.DagsterEvent]:
    return events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)


def step_failure(result) -> dg.DagsterEvent:
    return next(e for e in result.all_events if e.is_step_failure)


def failure_metadata(result) -> dict[str, Any]:
    data = step_failure(result).event_specific_data
    return {k: v.value for k, v in data.user_failure_data.metadata.items()}


def raw_metadata(result) -> dict[str, Any]:
    mats = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key.path[-1] == "raw_pages"]
    return {k: v.value for k, v in mats[-1].metadata.items()}


def manifest(home: Path, target: str, date: str) -> list[mf.ManifestEntry]:
    return mf.loads(LocalObjectStore(home).get(keys.manifest_key(target, date)))


def page_objects(home: Path, target: str, date: str) -> list[str]:
    """Stored page bodies of the partition (not listing pages, not evidence)."""
    prefix = keys.partition_prefix(target, date)
    return [k for k in LocalObjectStore(home).list(prefix)
            if k.endswith(".html.gz") and "/_listing/" not in k]


def body(home: Path, key: str) -> bytes:
    return gzip.decompress(LocalObjectStore(home).get(key))


def table(home: Path, name: str, target: str, date: str) -> list[dict[str, Any]]:
    return tables.from_parquet(LocalObjectStore(home).get(keys.table_key(name, target, date)))
