"""The object store resource: raw pages, manifests and per-partition table files."""


from pathlib import Path

import dagster as dg

from fleet_assets.lib.store import LocalObjectStore, ObjectStore


class ObjectStoreResource(dg.ConfigurableResource):
    """Base of the store resources: ``get_store()`` returns the lib-level ObjectStore."""

    def get_store(self) -> ObjectStore:
        raise NotImplementedError(f"{type(self).__name__} must implement get_store()")

    def duckdb_setup(self) -> list[str]:
        """Statements a DuckDB connection needs before it can read ``uri()`` paths."""
        return []


class LocalStoreResource(ObjectStoreResource):
    """A local directory (``$FLEET_HOME``) seen by every process on this machine."""

    root: str

    def get_store(self) -> ObjectStore:
        return LocalObjectStore(Path(self.root))
