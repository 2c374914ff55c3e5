"""The local object store: a directory every worker of one machine sees (see ``base.py``).

A conditional create (``put_if_absent``) on Linux writes an *unnamed* file (``O_TMPFILE``)
in the object's directory and links it to the key with ``linkat``, which fails when the key
exists: one directory entry per page, none to remove, and a writer killed mid-write leaves
nothing behind (the kernel frees an unnamed inode with its last descriptor). The portable
way (a named temp file, ``link``, ``unlink``: three directory updates per page under the
directory's lock) is kept for file systems and systems without ``O_TMPFILE``: on this
project's ext4 it cost 2-3x the system time of the unnamed file with 16 writers (BENCHMARKS.md).
Python's stdlib has no call for it (``tempfile`` names every file), hence the few lines here.
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fleet_assets.lib.store.base import ObjectMissing, ObjectStore, check_key


@dataclass(frozen=True)
class LocalObjectStore:
    """A directory as an object store: an unnamed file linked at the key (``put_if_absent``)
    or a temp file renamed over it (``put``) makes every write atomic."""

    root: Path
    _unsynced: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    # Directories this store object has made or seen (one mkdir per directory, not per page).
    _dirs: set[Path] = field(default_factory=set, repr=False, compare=False)
    # Set once O_TMPFILE or the /proc link it needs failed here: the portable way from then on.
    _no_unnamed: threading.Event = field(default_factory=threading.Event, repr=False,
                                         compare=False)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _parent(self, path: Path) -> Path:
        parent = path.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        return parent

    def _write_temp(self, path: Path, data: bytes, sync: bool = True) -> str:
        try:
            fd, tmp = tempfile.mkstemp(dir=self._parent(path), prefix=f".tmp-{os.getpid()}-",
                                       suffix=".part")
        except FileNotFoundError:  # a directory known here was removed since (a reset)
            self._dirs.discard(path.parent)
            fd, tmp = tempfile.mkstemp(dir=self._parent(path), prefix=f".tmp-{os.getpid()}-",
                                       suffix=".part")
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
        if not self._no_unnamed.is_set():
            linked = self._link_unnamed(path, data)
            if linked is not None:
                self._unsynced.set()
                return linked
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

    def _link_unnamed(self, path: Path, data: bytes) -> bool | None:
        """Write ``data`` to an unnamed file and link it at ``path``; whether it was linked
        (False: the key exists), or None where this system cannot (then never tried again)."""
        try:
            fd = os.open(self._parent(path), os.O_TMPFILE | os.O_WRONLY, 0o644)
        except (AttributeError, IsADirectoryError, NotADirectoryError):
            self._no_unnamed.set()  # no O_TMPFILE (not Linux, or a kernel before 3.11)
            return None
        except FileNotFoundError:
            self._dirs.discard(path.parent)  # removed since (a reset): made again below
            return None
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):
                self._no_unnamed.set()  # a file system without unnamed files
                return None
            raise
        try:
            with os.fdopen(fd, "wb", closefd=False) as fh:
                fh.write(data)
            try:
                # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N names the unnamed file; a
                # directory descriptor argument makes os.link call linkat, not link(2).
                os.link(f"/proc/self/fd/{fd}", path, src_dir_fd=fd, follow_symlinks=True)
            except FileExistsError:
                return False
            except FileNotFoundError:
                if not Path(f"/proc/self/fd/{fd}").exists():
                    self._no_unnamed.set()  # no /proc here
                self._dirs.discard(path.parent)
                return None
            return True
        finally:
            os.close(fd)

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
