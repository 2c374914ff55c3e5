"""Object store: the one place raw pages, manifests and table files are kept.

Every value lives at a deterministic key (see ``keys.py``). Two write modes exist:

- ``put_if_absent(key, data)``: a conditional create. Exactly one of several concurrent
  writers of the same key wins; the others learn the object is already there. Raw pages use
  it, so a retried or re-run fetch never rewrites evidence.
- ``put(key, data)``: an atomic whole-object replace (readers see the old or the new bytes,
  never a partial object). Manifests and per-partition table files use it, so
  re-materializing a partition replaces exactly that partition.

``local.LocalObjectStore`` implements both on a directory that every worker of a single machine
sees; the S3 implementation (``s3.py``) does the same with conditional writes.

Durability (local): ``put`` fsyncs its object before the rename. ``put_if_absent`` objects
are flushed in bulk instead of one fsync each (a 2 ms journal commit per page was the
largest cost of a crawl, see BENCHMARKS.md): the next ``put`` of the same store object (the
partition manifest that proves them) or ``flush()`` first syncs the file system, so a
manifest never survives a power loss that its pages did not. A process crash (kill -9) never
loses a linked object either way: the page cache belongs to the kernel. Temp files of a
killed writer (``.tmp-<pid>-*``) are removed by ``sweep_partials``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from fleet_assets.lib.failures import FleetError, ObjectMissing, StoreError

__all__ = ["CorruptObject", "ObjectMissing", "ObjectStore", "StoreError", "check_key"]


class CorruptObject(FleetError):
    """A stored object is unreadable or not what its manifest recorded; it was quarantined.

    ``key`` is the object, ``reason`` what is wrong, ``quarantine_key`` where its bytes are
    kept (see ``integrity.py``). Never retried as is: the page must be fetched again.
    """

    def __init__(self, key: str, reason: str, quarantine_key: str = "") -> None:
        self.key, self.reason, self.quarantine_key = key, reason, quarantine_key
        kept = f"; kept as {quarantine_key}" if quarantine_key else ""
        super().__init__(f"{key}: {reason}{kept}")


@runtime_checkable
class ObjectStore(Protocol):
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key`` unless it exists. True if this call wrote it."""

    def put(self, key: str, data: bytes) -> None:
        """Atomically replace ``key`` with ``data``."""

    def get(self, key: str) -> bytes:
        """The object's bytes; raises ``ObjectMissing``."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix`` (a folder-like prefix ending in '/'), sorted."""

    def uri(self, key: str) -> str:
        """Where DuckDB can read the key (a local path or an s3:// URI)."""


def check_key(key: str) -> str:
    """Reject keys that could escape the store's root."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"object key {key!r} is not a clean relative key")
    return key


