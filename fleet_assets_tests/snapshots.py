"""What a store holds, for comparing two runs: every object's key and bytes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fleet_assets.lib import manifest as mf
from fleet_assets.lib.store.local import LocalObjectStore


def store_snapshot(home: Path) -> dict[str, bytes]:
    """Raw objects and table files by key; manifests without their fetch timestamps."""
    store = LocalObjectStore(home)
    out = {}
    for key in [*store.list("raw/"), *store.list("tables/")]:
        data = store.get(key)
        if key.endswith("_manifest.jsonl"):
            data = mf.dumps([replace(e, fetched_at=None) for e in mf.loads(data)])
        out[key] = data
    return out
