"""Skip work whose inputs have not changed: the fingerprint of a derived table partition.

``extracted_records`` of a partition depends only on the partition's manifest (which pages,
with which content hashes), the target's extraction rules and the extraction code. When a
re-materialization finds the same fingerprint next to an existing table file, the table is
already what the step would write, so it is kept and the previous metadata is replayed
instead of re-parsing every page. Anything that changes the output changes the fingerprint:
a new or re-fetched page (the manifest bytes), edited rules, or a new version of
``extract.py``.

Markers live at ``state/<table>/<target>/<date>.json`` (never under ``tables/``, so the
warehouse views never read them) and are replaced atomically; a missing or unreadable
marker only means "do the work". The table file itself is trusted only after it is read
back: its Parquet footer must be readable and hold the row count (``rows``) the marker
recorded, so a truncated or replaced file is written again, never reported as reused.

Reads: nothing from settings.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from fleet_assets.lib import keys, tables
from fleet_assets.lib.store.base import ObjectMissing, ObjectStore


@cache
def _code_version(*modules: str) -> str:
    h = hashlib.sha256()
    for name in modules:
        h.update(Path(__import__(name, fromlist=["_"]).__file__ or name).read_bytes())
    return h.hexdigest()


def fingerprint(*parts: bytes | str, code: tuple[str, ...] = ("fleet_assets.lib.extract",)) -> str:
    """sha256 over the inputs (length-prefixed, so parts cannot run into each other) and code."""
    h = hashlib.sha256(_code_version(*code).encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def marker_key(table: str, target: str, date: str) -> str:
    keys.table_key(table, target, date)  # validates table, target and date
    return f"state/{table}/{target}/{date}.json"


def unchanged(store: ObjectStore, table: str, target: str, date: str,
              fp: str) -> dict[str, Any] | None:
    """The metadata recorded with ``fp`` if the table file exists and was built from ``fp``."""
    try:
        marker = json.loads(store.get(marker_key(table, target, date)))
    except (ObjectMissing, ValueError):
        return None
    if marker.get("fingerprint") != fp or not isinstance(marker.get("rows"), int):
        return None
    try:
        data = store.get(keys.table_key(table, target, date))
    except ObjectMissing:
        return None
    if tables.parquet_problem(data, table, marker["rows"]) is not None:
        return None
    return dict(marker.get("metadata", {}))


def record(store: ObjectStore, table: str, target: str, date: str, fp: str,
           metadata: dict[str, Any], rows: int) -> None:
    """Remember that the table file now in the store, of ``rows`` rows, was built from ``fp``."""
    plain = {k: getattr(v, "value", v) for k, v in metadata.items()}
    doc = json.dumps({"fingerprint": fp, "rows": rows, "metadata": plain}, sort_keys=True,
                     default=str)
    store.put(marker_key(table, target, date), doc.encode())
