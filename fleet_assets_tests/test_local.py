import gzip
import hashlib
import json
import threading

import pytest

from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl import reuse
from fleet_assets.lib.store.base import CorruptObject, ObjectMissing
from fleet_assets.lib.store.integrity import QUARANTINE, quarantine, read_page
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.store.scan import scan


def test_put_if_absent_writes_once(tmp_path):
    store = LocalObjectStore(tmp_path)
    assert store.put_if_absent("raw/a/b.gz", b"one") is True
    assert store.put_if_absent("raw/a/b.gz", b"two") is False
    assert store.get("raw/a/b.gz") == b"one"


def test_concurrent_put_if_absent_has_exactly_one_winner(tmp_path):
    store = LocalObjectStore(tmp_path)
    wins = []
    barrier = threading.Barrier(16)

    def put(i):
        barrier.wait()
        if store.put_if_absent("raw/k", f"writer {i}".encode()):
            wins.append(i)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.get("raw/k") == f"writer {wins[0]}".encode()
    assert list(store.list("raw/")) == ["raw/k"]  # no temp files left behind


def test_put_replaces_whole_object(tmp_path):
    store = LocalObjectStore(tmp_path)
    store.put("tables/x.parquet", b"old")
    store.put("tables/x.parquet", b"new")
    assert store.get("tables/x.parquet") == b"new"


def test_missing_object(tmp_path):
    with pytest.raises(ObjectMissing):
        LocalObjectStore(tmp_path).get("raw/none")


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a//b", "a/./b", ""])
def test_keys_cannot_escape_the_root(tmp_path, key):
    with pytest.raises(ValueError):
        LocalObjectStore(tmp_path).put(key, b"x")


def test_list_is_sorted_and_scoped(tmp_path):
    store = LocalObjectStore(tmp_path)
    for k in ["raw/b/2", "raw/a/1", "tables/t/1"]:
        store.put(k, b"")
    assert list(store.list("raw/")) == ["raw/a/1", "raw/b/2"]
    assert list(store.list("nothing/")) == []


# -- integrity: nothing read back is trusted without proof --------------------------------------
def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@pytest.fixture
def page(tmp_path):
    store = LocalObjectStore(tmp_path)
    body = b"<html><h1 class='title'>Copper Kettle</h1>" + b"x" * 200 + b"</html>"
    key = "raw/shop/2025-06-10/abc.html.gz"
    store.put_if_absent(key, gzip.compress(body, mtime=0))
    return store, key, body, hashlib.sha256(body).hexdigest()


def test_a_verified_read_returns_the_body(page):
    store, key, body, sha = page
    assert read_page(store, key, sha) == body


def test_a_changed_body_is_quarantined_and_named_never_returned(page):
    store, key, body, sha = page
    changed = gzip.compress(body.replace(b"Copper", b"Bronze"), mtime=0)
    store.delete(key)
    store.put_if_absent(key, changed)
    with pytest.raises(CorruptObject) as err:
        read_page(store, key, sha)
    assert err.value.key == key and "content_sha256 mismatch" in str(err.value)
    assert not store.exists(key)  # freed, so a good copy can be written again
    assert store.get(err.value.quarantine_key) == changed  # the bytes are kept
    note = json.loads(store.get(err.value.quarantine_key + ".why.json"))
    assert note["key"] == key and "mismatch" in note["reason"]
    assert store.put_if_absent(key, gzip.compress(body, mtime=0))  # repairable


@pytest.mark.parametrize("damage", [
    lambda d: _flip(d, len(d) // 2),     # a bit flip in the deflate stream
    lambda d: _flip(d, len(d) - 6),      # a bit flip in the CRC
    lambda d: d[: len(d) // 2],          # truncated
    lambda d: b"",                        # empty
])
def test_an_unreadable_object_is_quarantined_not_a_bare_gzip_error(page, damage):
    store, key, _, sha = page
    bad = damage(store.get(key))
    store.delete(key)
    store.put_if_absent(key, bad)
    with pytest.raises(CorruptObject) as err:
        read_page(store, key, sha)
    assert key in str(err.value) and not store.exists(key)
    assert store.get(err.value.quarantine_key) == bad


def test_quarantine_keeps_each_distinct_bad_copy(page):
    store, key, _, _ = page
    first = quarantine(store, key, b"one", "why")
    second = quarantine(store, key, b"two", "why")
    assert first != second and store.get(first) == b"one" and store.get(second) == b"two"
    assert first.startswith(QUARANTINE + key)


# -- fleet verify: a whole store scanned, repaired by quarantine, never by guessing -------------
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


def test_fleet_verify_cli_reports_then_repairs(tmp_path, capsys):
    from fleet_assets.cli.main import main

    _home(tmp_path)
    assert main(["verify", "--home", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count("BAD ") == 3 and "content_sha256 mismatch" in out and "Parquet" in out
    assert main(["verify", "--home", str(tmp_path), "--repair"]) == 0
    assert "repaired 3" in capsys.readouterr().out
    assert main(["verify", "--home", str(tmp_path / "absent")]) == 2
    assert "Traceback" not in capsys.readouterr().err
