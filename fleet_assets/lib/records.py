"""One partition's stored pages as record rows, and the typed report the drift checks judge.

``extract_partition`` reads every stored page of a manifest (through ``read``, which returns
the verified body or raises ``CorruptObject``), extracts it with the target's ``record``
rules, and returns the rows of the ``records`` table with a ``RecordsReport``: pages parsed,
records, fields found per field, missing required fields, sample URLs. The report travels
as one versioned JSON document (``to_json`` / ``from_json``) in the materialization's
``report`` metadata, so the checks read one typed value instead of loose keys. A ratio is
``None`` when nothing was measured (no stored page), never a default that reads as healthy.

Reads a target's ``record`` rules (fields, ``required``, ``id``); no settings.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.extract import Extraction, extract_record
from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.store.base import CorruptObject
from fleet_assets.lib.targets import RecordRules

T = TypeVar("T")
R = TypeVar("R")
SAMPLE_URLS = 5
REPORT_VERSION = 1
# Enough to keep every core parsing (and a remote store's reads overlapped), few enough that
# the bodies in flight stay small.
EXTRACT_THREADS = min(8, max(2, os.cpu_count() or 1))
# Pages at least this large on average are parsed in threads (see ``extract_threads``).
LARGE_PAGE_BYTES = 32_768


def extract_threads(entries: Iterable[mf.ManifestEntry], remote_store: bool) -> int:
    """How many threads ``extract_partition`` should use for these pages.

    lxml parses and zlib inflates without the GIL, so large pages gain from threads (481
    pages of Python's docs, ~100 KB: 1.1-1.4 s in one thread, 0.96 s in two on 2 cores);
    small ones lose, as the GIL changes hands for every page (4,779 sandbox pages of 4.5 KB:
    1.3-1.6 s in one thread, 2.1-2.2 s in two). Reads from a remote store wait on the
    network whatever the size.
    """
    sizes = [e.bytes for e in entries if e.status == mf.STORED]
    if len(sizes) < 2:
        return 1
    if remote_store or sum(sizes) / len(sizes) >= LARGE_PAGE_BYTES:
        return EXTRACT_THREADS
    return 1


@dataclass(frozen=True)
class RecordsReport:
    """What the records step found in one partition."""

    pages: int  # manifest entries, whatever their status
    pages_parsed: int  # stored pages read and extracted
    records: int  # pages that yielded every required field
    pages_with_no_fields: int
    missing_required: Mapping[str, int] = field(default_factory=dict)
    fields_found: Mapping[str, int] = field(default_factory=dict)
    sample_urls: tuple[str, ...] = ()  # pages without a required field, sorted

    @property
    def pages_without_required_fields(self) -> int:
        return self.pages_parsed - self.records

    @property
    def coverage(self) -> float | None:
        """Share of parsed pages that yielded every required field; None when none was parsed."""
        return self.records / self.pages_parsed if self.pages_parsed else None

    def to_json(self) -> dict[str, Any]:
        return {"version": REPORT_VERSION, "pages": self.pages, "pages_parsed": self.pages_parsed,
                "records": self.records, "pages_with_no_fields": self.pages_with_no_fields,
                "missing_required": dict(sorted(self.missing_required.items())),
                "fields_found": dict(self.fields_found), "sample_urls": list(self.sample_urls)}

    @classmethod
    def from_json(cls, doc: Any) -> RecordsReport:
        """The report of a materialization; ``ConfigError`` when it is absent or from elsewhere."""
        if isinstance(doc, str):
            doc = json.loads(doc)
        if not isinstance(doc, Mapping) or doc.get("version") != REPORT_VERSION:
            raise ConfigError("extracted_records has no records report of version "
                              f"{REPORT_VERSION} (materialized by an older version); "
                              "re-materialize the partition")
        return cls(pages=int(doc["pages"]), pages_parsed=int(doc["pages_parsed"]),
                   records=int(doc["records"]), pages_with_no_fields=int(doc["pages_with_no_fields"]),
                   missing_required={str(k): int(v) for k, v in doc["missing_required"].items()},
                   fields_found={str(k): int(v) for k, v in doc["fields_found"].items()},
                   sample_urls=tuple(str(u) for u in doc["sample_urls"]))


@dataclass(frozen=True)
class Extracted:
    rows: list[dict[str, Any]]
    report: RecordsReport
    corrupt: tuple[CorruptObject, ...]  # stored pages that failed verification (quarantined)


def extract_partition(entries: Iterable[mf.ManifestEntry], read: Callable[[mf.ManifestEntry], bytes],
                      rules: RecordRules, target: str, date: str,
                      threads: int = 1) -> Extracted:
    """The ``records`` rows of one partition's stored pages, and the report that judges them.

    Pages are read, verified and parsed in ``threads`` threads (``extract_threads`` says how
    many pay); rows come out in manifest order whatever the thread count.
    """
    entries = list(entries)
    missing: Counter[str] = Counter()
    found: Counter[str] = Counter({f: 0 for f in rules.field_names})
    drifted: list[str] = []
    corrupt: list[CorruptObject] = []

    def one(entry: mf.ManifestEntry) -> Extraction | CorruptObject:
        try:
            body = read(entry)
        except CorruptObject as exc:  # quarantined; never parsed under the manifest's hash
            return exc
        return extract_record(body, rules, entry.final_url or entry.url, entry.content_type)

    rows: list[dict[str, Any]] = []
    parsed = no_fields = 0
    stored = [e for e in entries if e.status == mf.STORED]
    with _in_order(one, stored, threads) as results:
        for entry, extraction in zip(stored, results, strict=True):
            if isinstance(extraction, CorruptObject):
                corrupt.append(extraction)
                continue
            parsed += 1
            found.update(extraction.found)
            no_fields += not extraction.found
            if not extraction.complete:
                missing.update(extraction.missing_required)
                drifted.append(entry.url)
                continue
            identity = extraction.values.get(rules.id_field) if rules.id_field else None
            if identity is None:  # the URL names the item on every day: its date becomes {date}
                identity = keys.url_identity(entry.url, date)
            rows.append({
                "natural_key": entry.natural_key,
                "item_key": keys.item_key(target, str(identity)),
                "target": target,
                "date": date,
                "url": entry.url,
                "content_sha256": entry.content_sha256,
                "data": json.dumps(extraction.values, sort_keys=True, ensure_ascii=False),
            })
    report = RecordsReport(pages=len(entries), pages_parsed=parsed, records=len(rows),
                           pages_with_no_fields=no_fields, missing_required=dict(missing),
                           fields_found=dict(found), sample_urls=tuple(sorted(drifted)[:SAMPLE_URLS]))
    return Extracted(rows, report, tuple(corrupt))


@contextlib.contextmanager
def _in_order(fn: Callable[[T], R], items: list[T], threads: int) -> Iterator[Iterator[R]]:
    """``fn`` over ``items``, results in their order, in up to ``threads`` threads."""
    if threads <= 1 or len(items) <= 1:
        yield map(fn, items)
        return
    pool = ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix="extract")
    try:
        yield pool.map(fn, items)
    finally:  # a page that raised (a store outage) ends the step: the rest is not read
        pool.shutdown(cancel_futures=True)
