"""The local object store: a directory every worker of one machine sees (see ``base.py``)."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fleet_assets.lib.store.base import ObjectMissing, ObjectStore, check_key


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
