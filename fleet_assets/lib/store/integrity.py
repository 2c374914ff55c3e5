"""Stored objects are read with proof: bytes that are not what was written never become data.

``read_page(store, key, sha256)`` returns the decoded body of a gzip object and checks it
against the ``content_sha256`` its manifest recorded. An object that cannot be decoded (a
bit flip, a truncated file) or whose body has another hash is **quarantined**: its bytes are
kept under ``quarantine/<key>.<sha256 prefix>`` with a ``.why.json`` note, the original key is
freed (``put_if_absent`` could otherwise never write a good copy again), and
``CorruptObject`` names it. The caller then fetches the page again (the crawler) or fails
the step naming the object (``extracted_records``); ``fleet verify`` scans a whole store.

Reads no settings.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib

from fleet_assets.lib.store.base import CorruptObject, ObjectMissing, ObjectStore, check_key

QUARANTINE = "quarantine/"
# Level 3: on 300 pages of Python's docs (~90 KB each) it takes 0.48 ms a page where zlib's
# default 6 took 1.15 ms (and 9 twice that), for 0.159 of the body instead of 0.138: a page
# is compressed once, on the crawl's critical path, and stored bytes are cheap. The natural
# key and the manifest's ``content_sha256`` are of the body, so objects written at another
# level stay valid and a re-run writes nothing new.
PAGE_GZIP_LEVEL = 3


def pack_page(body: bytes) -> bytes:
    """The stored form of a page body: gzip without a timestamp (same body, same bytes)."""
    return gzip.compress(body, compresslevel=PAGE_GZIP_LEVEL, mtime=0)


def quarantine(store: ObjectStore, key: str, data: bytes, reason: str) -> str:
    """Keep ``data`` under a quarantine key with why, free ``key``; returns the new key."""
    check_key(key)
    qkey = f"{QUARANTINE}{key}.{hashlib.sha256(data).hexdigest()[:16]}"
    store.put_if_absent(qkey, data)
    note = {"key": key, "reason": reason, "sha256_of_object": hashlib.sha256(data).hexdigest()}
    store.put_if_absent(qkey + ".why.json", json.dumps(note, sort_keys=True).encode())
    try:
        # Only if the object is still the bad one: a repaired copy written meanwhile stays.
        if store.get(key) == data:
            store.delete(key)
    except ObjectMissing:
        pass
    return qkey


def decode(data: bytes) -> tuple[bytes | None, str]:
    """The body inside a stored gzip object, or None and why it cannot be read."""
    try:
        return gzip.decompress(data), ""
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        return None, f"unreadable gzip ({type(exc).__name__}: {exc})"


def problem(data: bytes, sha256: str | None) -> tuple[bytes | None, str]:
    """(body, "") when ``data`` decodes to a body with hash ``sha256`` (if given), else why."""
    body, why = decode(data)
    if body is None:
        return None, why
    if sha256 and hashlib.sha256(body).hexdigest() != sha256:
        return None, (f"content_sha256 mismatch: the manifest recorded {sha256[:16]}..., "
                      f"the stored body hashes to {hashlib.sha256(body).hexdigest()[:16]}...")
    return body, ""


def read_page(store: ObjectStore, key: str, sha256: str | None = None) -> bytes:
    """The verified body at ``key``; ``CorruptObject`` (after quarantine) when it is not.

    Raises ``ObjectMissing`` when there is no object.
    """
    data = store.get(key)
    body, why = problem(data, sha256)
    if body is None:
        raise CorruptObject(key, why, quarantine(store, key, data, why))
    return body
