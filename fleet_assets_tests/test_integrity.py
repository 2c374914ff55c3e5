"""read_page and quarantine: nothing read back from a store is trusted without proof."""

import gzip
import hashlib
import json

import pytest

from fleet_assets.lib.store.base import CorruptObject
from fleet_assets.lib.store.integrity import QUARANTINE, pack_page, quarantine, read_page
from fleet_assets.lib.store.local import LocalObjectStore


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


def test_objects_written_at_level_9_stay_valid_and_a_rerun_rewrites_nothing(page):
    store, key, body, sha = page  # the fixture writes gzip level 9, as the crawler once did
    old = store.get(key)
    packed = pack_page(body)
    assert packed != old and gzip.decompress(packed) == body  # another level: other bytes
    assert pack_page(body) == packed  # no timestamp: the same body packs to the same bytes
    assert store.put_if_absent(key, packed) is False  # the key is the page's, not the bytes'
    assert store.get(key) == old and read_page(store, key, sha) == body
