"""The embedded Dagster instance under ``$FLEET_HOME/dagster_home`` and target registration.

Reads ``DAGSTER_HOME`` (default ``$FLEET_HOME/dagster_home``, see lib/home.py).

A fresh home is initialised once, under an exclusive file lock: two processes that start
together on it (``dg dev`` starts the webserver and the daemon at once; two ``fleet``
commands) would otherwise both create the SQLite schemas and stamp their migrations, and
the loser leaves "table already exists" or an alembic history with more than one head that
breaks the instance for good. The first process in creates every storage through the
public instance API and leaves a ``.fleet-initialized`` marker; the others wait for the
lock, see the marker and go on. ``python -m fleet_assets.state.instance`` does only this
(the Makefile runs it before ``dg dev``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import dagster as dg

from fleet_assets.automation.partitions import TARGETS_PARTITIONS
from fleet_assets.settings import LOCAL_INSTANCE_YAML, dagster_home

READY = ".fleet-initialized"
LOCK = ".fleet-init.lock"


@contextmanager
def _exclusive(home: str) -> Iterator[None]:
    fd = os.open(os.path.join(home, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if this process dies
        yield
    finally:
        os.close(fd)


def _initialise(home: str) -> None:
    """Create every SQLite storage of the instance (runs, event log, schedules) now."""
    with dg.DagsterInstance.from_config(home) as instance:
        instance.get_runs(limit=1)
        instance.get_dynamic_partitions(TARGETS_PARTITIONS)
        instance.fetch_materializations(dg.AssetKey("fleet_init_probe"), limit=1)
        instance.all_instigator_state()


def prepare_home() -> str:
    """DAGSTER_HOME with the repository's deploy/dagster.local.yaml and initialised storage; exported."""
    home = os.environ.get("DAGSTER_HOME") or str(dagster_home())
    os.makedirs(home, exist_ok=True)
    os.environ["DAGSTER_HOME"] = home
    if os.path.exists(os.path.join(home, READY)):
        return home
    with _exclusive(home):
        if os.path.exists(os.path.join(home, READY)):
            return home  # another process initialised it while we waited
        src, dst = LOCAL_INSTANCE_YAML, os.path.join(home, "dagster.yaml")
        if src.exists() and not os.path.exists(dst):
            tmp = f"{dst}.tmp-{os.getpid()}"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)  # a reader never sees half a dagster.yaml
        _initialise(home)
        with open(os.path.join(home, READY), "w") as f:
            f.write("initialised by fleet_assets.state.instance\n")
    return home


def get_instance() -> dg.DagsterInstance:
    prepare_home()
    return dg.DagsterInstance.get()


def register_targets(instance: dg.DagsterInstance, names: Iterable[str]) -> list[str]:
    """Add target names missing from the dynamic ``targets`` partitions; returns the added."""
    existing = set(instance.get_dynamic_partitions(TARGETS_PARTITIONS))
    added = sorted(set(names) - existing)
    if added:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, added)
    return added


if __name__ == "__main__":
    print(f"DAGSTER_HOME={prepare_home()} ready")
