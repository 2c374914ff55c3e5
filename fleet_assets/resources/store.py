"""The object store resource: raw pages, manifests and per-partition table files."""


from pathlib import Path

import dagster as dg

from fleet_assets.lib.store.base import ObjectStore
from fleet_assets.lib.store.local import LocalObjectStore

# Steps that only replace whole objects (records, aggregates) are safe to repeat: when the
# store is unreachable (``StoreError``, class A) they get a few spaced attempts.
STORE_OUTAGE_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
)


class ObjectStoreResource(dg.ConfigurableResource):
    """Base of the store resources: ``get_store()`` returns the lib-level ObjectStore."""

    def get_store(self) -> ObjectStore:
        raise NotImplementedError(f"{type(self).__name__} must implement get_store()")

    def duckdb_setup(self) -> list[str]:
        """Statements a DuckDB connection needs before it can read ``uri()`` paths."""
        return []

    def configure_duckdb(self, con) -> None:
        """Prepare a DuckDB connection to read ``uri()`` paths (SQL setup, filesystems)."""
        for statement in self.duckdb_setup():
            con.execute(statement)


class LocalStoreResource(ObjectStoreResource):
    """A local directory (``$FLEET_HOME``) seen by every process on this machine."""

    root: str

    def get_store(self) -> ObjectStore:
        return LocalObjectStore(Path(self.root))
