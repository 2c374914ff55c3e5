"""Scan a whole store (a FLEET_HOME or a bucket) for objects that are not what was written.

``scan(store, repair=False)`` reads every object the pipeline would later trust:

- raw pages, listing pages and gone-evidence (``raw/**.gz``): must decode, and a page a
  manifest lists must hash to the ``content_sha256`` it recorded; a page a manifest lists
  must exist;
- manifests and listing URL lists (``_manifest.jsonl``, ``_listing.json``): must parse;
- table files (``tables/<table>/<target>/<date>.parquet``): footer, schema, and the row
  count their reuse marker recorded.

With ``repair`` a bad raw object or manifest is quarantined (``integrity.quarantine``: its
bytes kept, its key freed) and a bad table file is removed with its reuse marker, so the
next materialization of the partition (named in ``Finding.rerun``) fetches or writes it
again. Nothing is ever repaired by guessing content. Reads no settings.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from fleet_assets.lib import manifest as mf
from fleet_assets.lib import tables
from fleet_assets.lib.crawl import reuse
from fleet_assets.lib.store.base import ObjectMissing, ObjectStore
from fleet_assets.lib.store.integrity import decode, problem, quarantine

# Which asset writes what: the partition to materialize again after a repair.
_WRITER = {"records": "extracted_records", "tombstones": "raw_pages",
           "aggregates": "daily_aggregates"}


@dataclass(frozen=True)
class Finding:
    key: str
    problem: str
    rerun: str  # "<asset> for <target> <date>"
    repaired: str = ""  # what --repair did ("" when not asked)

    def __str__(self) -> str:
        done = f" -> {self.repaired}" if self.repaired else ""
        return f"{self.key}: {self.problem}{done}; then materialize {self.rerun}"


@dataclass
class ScanReport:
    checked: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _partition(key: str) -> tuple[str, str]:
    parts = key.split("/")
    return parts[1], parts[2].removesuffix(".parquet")


def _expected_pages(store: ObjectStore, manifests: list[str], report: ScanReport,
                    repair: bool) -> dict[str, str | None]:
    """object key -> recorded sha256 (None for evidence) from every readable manifest."""
    expected: dict[str, str | None] = {}
    for key in manifests:
        target, date = _partition(key)
        report.checked["manifests"] += 1
        try:
            data = store.get(key)
            entries = mf.loads(data)
        except ObjectMissing:
            continue
        except (ValueError, KeyError, TypeError) as exc:
            why = f"manifest does not parse ({type(exc).__name__})"
            done = f"quarantined as {quarantine(store, key, data, why)}" if repair else ""
            report.findings.append(Finding(key, why, f"raw_pages for {target} {date}", done))
            continue
        for e in entries:
            if e.object_key and e.status in (mf.STORED, mf.GONE):
                expected[e.object_key] = e.content_sha256 if e.status == mf.STORED else None
                if not store.exists(e.object_key):
                    report.findings.append(Finding(
                        e.object_key, f"listed as {e.status} in {key} but missing",
                        f"raw_pages for {target} {date}"))
    return expected


def _scan_raw(store: ObjectStore, report: ScanReport, repair: bool) -> None:
    keys_ = list(store.list("raw/"))
    expected = _expected_pages(store, [k for k in keys_ if k.endswith("/_manifest.jsonl")],
                               report, repair)
    for key in keys_:
        target, date = _partition(key)
        rerun = f"raw_pages for {target} {date}"
        try:
            data = store.get(key)
        except ObjectMissing:
            continue  # removed while we scanned
        if key.endswith(".gz"):
            report.checked["raw objects"] += 1
            body, why = problem(data, expected.get(key)) if key in expected else decode(data)
            if body is not None:
                continue
        elif key.endswith("/_listing.json"):
            report.checked["listing url lists"] += 1
            try:
                json.loads(data)["urls"]
                continue
            except (ValueError, KeyError, TypeError):
                why = "listing URL list does not parse"
        else:
            continue
        done = f"quarantined as {quarantine(store, key, data, why)}" if repair else ""
        report.findings.append(Finding(key, why, rerun, done))


def _scan_tables(store: ObjectStore, report: ScanReport, repair: bool) -> None:
    for key in store.list("tables/"):
        parts = key.split("/")
        if len(parts) != 4 or parts[1] not in _WRITER or not key.endswith(".parquet"):
            continue
        table, target, date = parts[1], parts[2], parts[3].removesuffix(".parquet")
        report.checked["table files"] += 1
        marker = reuse.marker_key(table, target, date) if table == "records" else None
        rows = None
        if marker and store.exists(marker):
            try:
                rows = json.loads(store.get(marker)).get("rows")
            except (ValueError, ObjectMissing, AttributeError):
                rows = None
        try:
            why = tables.parquet_problem(store.get(key), table,
                                         rows if isinstance(rows, int) else None)
        except ObjectMissing:
            continue
        if why is None:
            continue
        done = ""
        if repair:
            store.delete(key)
            if marker:
                store.delete(marker)
            done = "removed (with its reuse marker)"
        report.findings.append(Finding(key, why, f"{_WRITER[table]} for {target} {date}", done))


def scan(store: ObjectStore, repair: bool = False) -> ScanReport:
    report = ScanReport()
    _scan_raw(store, report, repair)
    _scan_tables(store, report, repair)
    return report
