"""Tombstones: URLs found gone (class D), one table row per gone URL per partition.

Reads a target's ``refetch_tombstoned`` (default false: a tombstoned URL is not fetched
again on later days).

Identity across days. Most target URLs carry the partition date (``/shop/{date}/product/X``,
``/jobs/{date}/job/3``), so the same page has a different URL every day. A URL's
**identity** is the URL with every occurrence of the partition date replaced by the
literal ``{date}`` (``url_identity``): the ``jobs`` URL ``.../jobs/2025-06-10/job/3`` and
``.../jobs/2025-06-11/job/3`` share the identity ``.../jobs/{date}/job/3``. URLs without the
date are their own identity.

The index of gone identities lives in the object store at
``state/tombstones/<target>/<sha256(identity)>.json`` as ``{"identity", "url",
"first_seen_gone", "status", "reason", "evidence_key"}``, so every step, run and process
sharing the store sees it. ``first_seen_gone`` is the earliest partition date in which the
identity was found gone: a later day never moves it, an earlier day (a backfill) replaces
the record. A URL is skipped on a day strictly after ``first_seen_gone``; on that day and
before it is fetched (it may have existed then).

The per-partition table (``tables/tombstones/<target>/<date>.parquet``, schema in
``tables.py``) has one row per URL whose manifest status is ``gone`` in that partition: both
the URLs found gone by a fetch today and the tombstoned URLs skipped today, the latter
pointing at the evidence of the day they were first found gone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.failures import FetchOutcome
from fleet_assets.lib.keys import url_identity
from fleet_assets.lib.store.base import ObjectMissing, ObjectStore


def index_key(target: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return f"state/tombstones/{keys.check_target(target)}/{digest}.json"


@dataclass(frozen=True)
class Tombstone:
    identity: str
    url: str
    first_seen_gone: str
    status: int | None
    reason: str
    evidence_key: str | None


class TombstoneIndex:
    """The gone identities of one target, shared through the object store."""

    def __init__(self, store: ObjectStore, target: str) -> None:
        self.store, self.target = store, keys.check_target(target)

    def get(self, url: str, date: str) -> Tombstone | None:
        identity = url_identity(url, date)
        try:
            doc = json.loads(self.store.get(index_key(self.target, identity)))
        except ObjectMissing:
            return None
        return Tombstone(**doc)

    def skip(self, url: str, date: str) -> Tombstone | None:
        """The tombstone that makes ``url`` skipped on ``date``, if any."""
        stone = self.get(url, date)
        if stone is not None and stone.first_seen_gone < date:
            return stone
        return None

    def record(self, url: str, date: str, status: int | None, reason: str,
               evidence_key: str | None) -> Tombstone:
        """Note ``url`` gone on ``date``; keeps the earliest date. Returns the record in force."""
        identity = url_identity(url, date)
        key = index_key(self.target, identity)
        stone = Tombstone(identity=identity, url=url, first_seen_gone=date, status=status,
                          reason=reason, evidence_key=evidence_key)
        data = json.dumps(asdict(stone), sort_keys=True).encode()
        if self.store.put_if_absent(key, data):
            return stone
        existing = self.get(url, date)
        if existing is not None and existing.first_seen_gone <= date:
            return existing
        # A backfill found it gone earlier: the earliest day wins.
        self.store.put(key, data)
        return stone


def evidence_of(outcome: FetchOutcome) -> bytes:
    """The kept response of a gone page (``<natural_key>.gone.json.gz``; ``rows`` reads it)."""
    doc = {
        "url": outcome.url,
        "status": outcome.status,
        "headers": dict(sorted((k.lower(), v) for k, v in outcome.headers.items())),
        "body": (outcome.body or b"").decode("utf-8", errors="replace"),
    }
    return gzip.compress(json.dumps(doc, sort_keys=True).encode(), mtime=0)


def _headers(store: ObjectStore, evidence_key: str | None) -> str:
    if not evidence_key:
        return "{}"
    try:
        doc = json.loads(gzip.decompress(store.get(evidence_key)))
    except (ObjectMissing, OSError, ValueError):
        return "{}"
    return json.dumps(doc.get("headers", {}), sort_keys=True)


def rows(store: ObjectStore, target: str, date: str,
         entries: Iterable[mf.ManifestEntry]) -> list[dict[str, object]]:
    """The partition's tombstone rows (``tables.SCHEMAS['tombstones']``), one per gone URL."""
    index = TombstoneIndex(store, target)
    out = []
    for e in entries:
        if e.status != mf.GONE:
            continue
        stone = index.get(e.url, date)
        first = stone.first_seen_gone if stone is not None and stone.first_seen_gone <= date \
            else date
        out.append({
            "natural_key": e.natural_key,
            "target": target,
            "date": date,
            "url": e.url,
            "status": e.http_status,
            "reason": e.reason,
            "first_seen_gone": first,
            "evidence_key": e.object_key,
            "headers": _headers(store, e.object_key),
        })
    return out


__all__ = ["Tombstone", "TombstoneIndex", "evidence_of", "index_key", "rows", "url_identity"]
