"""The DuckDB warehouse: views over the per-partition Parquet files in the object store.

``warehouse.duckdb`` holds only view definitions, never rows, so no partition ever needs its
write lock: steps write Parquet files, and the views (``records``, ``tombstones``,
``aggregates`` and one typed ``records_<target>`` per target) read whatever files exist.
Views are rewritten only when their definition changes (a fingerprint in each view's comment).
"""


import hashlib
import time
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import duckdb

from fleet_assets.lib import keys, tables
from fleet_assets.lib.targets import Target
from fleet_assets.resources.store import ObjectStoreResource

_DUCK_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
               "date": "DATE", "url": "VARCHAR"}


class WarehouseResource(dg.ConfigurableResource):
    """DuckDB views over the store's table files (``database`` is a local path)."""

    database: str
    store: ObjectStoreResource

    def view_statements(self, targets: Iterable[Target] = ()) -> list[str]:
        store = self.store.get_store()
        stmts = []
        for table in keys.TABLES:
            has_files = any(True for _ in store.list(f"tables/{table}/"))
            source = (
                f"SELECT * FROM read_parquet('{store.uri(keys.table_glob(table))}', "
                "union_by_name=true)"
                if has_files
                else tables.empty_select(table)
            )
            stmts.append(f"CREATE OR REPLACE VIEW {table} AS {source}")
        for t in targets:
            cols = ", ".join(
                f"TRY_CAST(data->>'{f.name}' AS {_DUCK_TYPES[f.type]}) AS \"{f.name}\""
                for f in t.record.fields
            )
            view = "records_" + t.name.replace("-", "_")
            stmts.append(
                f"CREATE OR REPLACE VIEW \"{view}\" AS SELECT natural_key, item_key, date, url, "
                f"{cols} FROM records WHERE target = '{t.name}'"
            )
        return stmts

    def ensure_views(self, targets: Iterable[Target] = (), timeout_seconds: float = 30) -> bool:
        """Create or refresh the views; False if the file stayed locked by another writer.

        Each view carries the sha256 of its statement as its DuckDB comment (DuckDB keeps a
        normalised copy of the SQL, which never equals ours), so a read-only look decides
        whether anything changed and the usual call takes no write lock at all.
        """
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        wanted = {_view_name(stmt): (stmt, _fingerprint(stmt))
                  for stmt in self.view_statements(targets)}
        deadline = time.monotonic() + timeout_seconds
        if Path(self.database).exists():
            con = _connect(self.database, read_only=True, deadline=deadline)
            if con is None:
                return False
            try:
                current = dict(con.execute(
                    "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
            finally:
                con.close()
            if all(current.get(name) == fp for name, (_, fp) in wanted.items()):
                return True
        con = _connect(self.database, read_only=False, deadline=deadline)
        if con is None:
            return False
        try:
            self.store.configure_duckdb(con)
            current = dict(con.execute(
                "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
            for name, (stmt, fp) in wanted.items():
                if current.get(name) != fp:
                    con.execute(stmt)
                    con.execute(f"COMMENT ON VIEW \"{name}\" IS '{fp}'")
        finally:
            con.close()
        return True

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(self.database, read_only=read_only)
        self.store.configure_duckdb(con)
        return con

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = self.connect(read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


def _view_name(stmt: str) -> str:
    return stmt.split(" VIEW ", 1)[1].split(" AS ", 1)[0].strip('"')


def _fingerprint(stmt: str) -> str:
    return hashlib.sha256(stmt.encode()).hexdigest()


def _connect(database: str, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection | None:
    """Open the file, waiting while another process holds its lock; None after the deadline."""
    while True:
        try:
            return duckdb.connect(database, read_only=read_only)
        except duckdb.IOException:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)
