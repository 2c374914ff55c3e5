"""The store resources: the local one is a directory; the base names what a subclass must add."""

from __future__ import annotations

import duckdb
import pytest

from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources.store import LocalStoreResource, ObjectStoreResource


def test_the_local_resource_is_a_store_on_its_root(tmp_path):
    store = LocalStoreResource(root=str(tmp_path)).get_store()
    assert isinstance(store, LocalObjectStore)
    store.put("tables/a", b"x")
    assert (tmp_path / "tables" / "a").read_bytes() == b"x"


def test_a_store_resource_without_get_store_says_which_class_lacks_it():
    class Half(ObjectStoreResource):
        pass

    with pytest.raises(NotImplementedError, match="Half must implement get_store"):
        Half().get_store()


def test_duckdb_is_configured_by_running_the_setup_statements():
    class WithSetup(LocalStoreResource):
        def duckdb_setup(self) -> list[str]:
            return ["CREATE TABLE marker AS SELECT 42 AS n"]

    con = duckdb.connect()
    WithSetup(root="/nonexistent").configure_duckdb(con)
    assert con.execute("SELECT n FROM marker").fetchone() == (42,)
    LocalStoreResource(root="/nonexistent").configure_duckdb(con)  # nothing to set up

