"""scan: a whole store checked against its manifests, repaired by quarantine, never by guessing."""

import gzip
import hashlib
import json

from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl import reuse
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.store.scan import scan


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def _home(tmp_path):
    """A home with one partition: 3 pages (1 changed, 1 bit-flipped), a good and a bad table."""
    store = LocalObjectStore(tmp_path)
    date, entries = "2025-06-10", []
    for n in range(3):
        url = f"http://h/p/{n}"
        nk = keys.natural_key(url, date)
        body = f"<h1>page {n}</h1>".encode()
        key = keys.raw_page_key("shop", date, nk)
        entries.append(mf.ManifestEntry(url=url, natural_key=nk, status=mf.STORED,
                                        object_key=key, bytes=len(body),
                                        content_sha256=hashlib.sha256(body).hexdigest()))
        data = gzip.compress(body, mtime=0)
        if n == 1:
            data = gzip.compress(b"<h1>forged</h1>", mtime=0)
        if n == 2:
            data = _flip(data, len(data) // 2)
        store.put_if_absent(key, data)
    store.put(keys.manifest_key("shop", date), mf.dumps(entries))
    rows = [{"natural_key": e.natural_key, "item_key": "i", "target": "shop", "date": date,
             "url": e.url, "content_sha256": e.content_sha256, "data": "{}"} for e in entries]
    good = tables.to_parquet("records", rows)
    store.put(keys.table_key("records", "shop", date), good[: len(good) - 30])  # truncated
    store.put(reuse.marker_key("records", "shop", date), json.dumps(
        {"fingerprint": "f", "rows": 3, "metadata": {}}).encode())
    store.put(keys.table_key("records", "shop", "2025-06-11"), good)
    return store, entries


def test_scan_reports_every_bad_object_and_repairs_by_quarantine(tmp_path):
    store, entries = _home(tmp_path)
    report = scan(store)
    bad = {f.key for f in report.findings}
    assert bad == {entries[1].object_key, entries[2].object_key,
                   keys.table_key("records", "shop", "2025-06-10")}
    assert report.checked["raw objects"] == 3 and report.checked["table files"] == 2
    assert store.exists(entries[1].object_key)  # a scan alone changes nothing
    repaired = scan(store, repair=True)
    assert all(f.repaired for f in repaired.findings)
    assert not store.exists(entries[1].object_key) and store.exists(entries[0].object_key)
    assert not store.exists(keys.table_key("records", "shop", "2025-06-10"))
    assert len([k for k in store.list("quarantine/") if not k.endswith(".why.json")]) == 2
    after = scan(store)  # the freed pages are now "missing": raw_pages fetches them again
    assert {f.key for f in after.findings} == {entries[1].object_key, entries[2].object_key}
    assert all("missing" in f.problem and f.rerun == "raw_pages for shop 2025-06-10"
               for f in after.findings)
