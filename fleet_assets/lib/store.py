"""Object store: the one place raw pages, manifests and table files are kept.

Every value lives at a deterministic key (see ``keys.py``). Two write modes exist:

- ``put_if_absent(key, data)``: a conditional create. Exactly one of several concurrent
  writers of the same key wins; the others learn the object is already there. Raw pages use
  it, so a retried or re-run fetch never rewrites evidence.
- ``put(key, data)``: an atomic whole-object replace (readers see the old or the new bytes,
  never a partial object). Manifests and per-partition table files use it, so
  re-materializing a partition replaces exactly that partition.

``LocalObjectStore`` implements both on a directory that every worker of a single machine
sees; the S3 implementation (``s3store.py``) does the same with conditional writes.

Durability (local): ``put`` fsyncs its object before the rename. ``put_if_absent`` objects
are flushed in bulk instead of one fsync each (a 2 ms journal commit per page was the
largest cost of a crawl, see BENCHMARKS.md): the next ``put`` of the same store object (the
partition manifest that proves them) or ``flush()`` first syncs the file system, so a
manifest never survives a power loss that its pages did not. A process crash (kill -9) never
loses a linked object either way: the page cache belongs to the kernel. Temp files of a
killed writer (``.tmp-<pid>-*``) are removed by ``sweep_partials``.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


class StoreError(Exception):
    """The store could not complete an operation (an infrastructure failure, class A)."""


class ObjectMissing(KeyError):
    """No object at that key."""


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


@dataclass(frozen=True)
class LocalObjectStore:
    """A directory as an object store; temp-file + rename/link makes writes atomic."""

    root: Path
    _unsynced: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write_temp(self, path: Path, data: bytes, sync: bool = True) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{os.getpid()}-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if sync:
                    fh.flush()
                    os.fsync(fh.fileno())
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp

    def flush(self) -> None:
        """Make every ``put_if_absent`` object written so far durable (one sync for all)."""
        if self._unsynced.is_set():
            self._unsynced.clear()
            os.sync()

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if path.exists():
            return False
        tmp = self._write_temp(path, data, sync=False)
        self._unsynced.set()
        try:
            # link() fails if the target exists: the conditional create is the filesystem's.
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def put(self, key: str, data: bytes) -> None:
        self.flush()
        path = self._path(key)
        tmp = self._write_temp(path, data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return iter(())
        keys = (
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )
        return iter(sorted(keys))

    def uri(self, key: str) -> str:
        return str(self._path(key))


def sweep_partials(store: ObjectStore, *prefixes: str) -> list[str]:
    """Remove temp files left under ``prefixes`` by writers that no longer run; their paths.

    Only a local store has them (an S3 PUT is all or nothing). A temp file whose writer
    (the pid in its name) is alive on this machine is left alone: it may be mid-write.
    """
    if not isinstance(store, LocalObjectStore):
        return []
    removed = []
    for prefix in prefixes:
        base = store.root / check_key(prefix.rstrip("/")) if prefix else store.root
        for tmp in base.rglob(".tmp-*") if base.is_dir() else ():
            pid = tmp.name.split("-")[1] if tmp.name.count("-") >= 2 else ""
            if pid.isdigit() and _alive(int(pid)):
                continue
            tmp.unlink(missing_ok=True)
            removed.append(tmp.relative_to(store.root).as_posix())
    return sorted(removed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
