"""The read-only DuckDB filesystem over S3, against a real S3-compatible server (moto) on loopback."""

from __future__ import annotations

import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fleet_assets.lib.store import duckdb_s3 as s3duck
from fleet_assets_tests.s3server import fresh_s3_store


@pytest.fixture
def store(s3_server):
    return fresh_s3_store(s3_server)


def _parquet(rows):
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


def test_duckdb_reads_parquet_globs_in_s3_through_the_registered_filesystem(store):
    store.put("tables/records/shop/2025-06-10.parquet", _parquet([{"t": "shop", "n": 1}] * 3))
    store.put("tables/records/news/2025-06-10.parquet", _parquet([{"t": "news", "n": 2}] * 2))
    con = duckdb.connect()
    s3duck.register(con, store.client)
    rows = con.execute(
        f"SELECT t, sum(n) FROM read_parquet('{store.uri('tables/records/*/*.parquet')}') "
        "GROUP BY t ORDER BY t").fetchall()
    assert rows == [("news", 4), ("shop", 3)]


def test_duckdb_filesystem_is_read_only(store):
    fs = s3duck.S3ReadFileSystem(store.client)
    with pytest.raises(ValueError, match="read only"):
        fs.open(store.uri("tables/x.parquet"), "wb")
