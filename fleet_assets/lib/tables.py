"""The warehouse tables: their schemas and how one partition's rows become a Parquet file.

Every table is stored as one Parquet file per partition (``keys.table_key``), replaced whole
on re-materialization, and read through DuckDB views. Rows are sorted by their primary key
and written without wall-clock metadata, so the same rows always give the same bytes.

- ``records``: one row per extracted item page; primary key ``natural_key``; the extracted
  fields as a JSON object in ``data`` (typed per target in the ``records_<target>`` views).
- ``tombstones``: one row per URL found gone (class D) in that partition.
- ``aggregates``: one row per metric per partition (long format: ``metric``, ``value``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMAS: dict[str, pa.Schema] = {
    "records": pa.schema([
        ("natural_key", pa.string()),
        ("item_key", pa.string()),
        ("target", pa.string()),
        ("date", pa.string()),
        ("url", pa.string()),
        ("content_sha256", pa.string()),
        ("data", pa.string()),
    ]),
    "tombstones": pa.schema([
        ("natural_key", pa.string()),
        ("target", pa.string()),
        ("date", pa.string()),
        ("url", pa.string()),
        ("status", pa.int32()),
        ("reason", pa.string()),
        ("first_seen_gone", pa.string()),
        ("evidence_key", pa.string()),
        ("headers", pa.string()),
    ]),
    "aggregates": pa.schema([
        ("target", pa.string()),
        ("date", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
    ]),
}
PRIMARY_KEYS = {"records": ("natural_key",), "tombstones": ("natural_key",),
                "aggregates": ("metric",)}


def to_parquet(table: str, rows: Iterable[Mapping[str, Any]]) -> bytes:
    schema = SCHEMAS[table]
    pk = PRIMARY_KEYS[table]
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in pk))
    seen = set()
    for r in ordered:
        key = tuple(r[k] for k in pk)
        if key in seen:
            raise ValueError(f"{table}: duplicate primary key {key} in one partition")
        seen.add(key)
    arrow = pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in ordered],
                                 schema=schema)
    arrow = arrow.replace_schema_metadata(None)
    buf = io.BytesIO()
    pq.write_table(arrow, buf, compression="zstd", write_statistics=True,
                   store_schema=False)
    return buf.getvalue()


def from_parquet(data: bytes) -> list[dict[str, Any]]:
    # use_threads=False: pyarrow 22-26 can abort at interpreter exit after a threaded read.
    return pq.read_table(io.BytesIO(data), use_threads=False).to_pylist()


def parquet_problem(data: bytes, table: str | None = None,
                    expected_rows: int | None = None) -> str | None:
    """Why ``data`` is not a whole table file (footer, schema, row count), or None.

    A truncated file has no footer; a file with a footer may still hold another number of
    rows than the step that wrote it reported.
    """
    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
    except (pa.ArrowException, OSError, ValueError) as exc:
        return f"not a readable Parquet file ({exc}); it must be written again"
    if table is not None:
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        if names != SCHEMAS[table].names:
            return f"columns {names} are not the {table} schema; it must be written again"
    if expected_rows is not None and meta.num_rows != expected_rows:
        return (f"holds {meta.num_rows} rows, the step that wrote it reported {expected_rows}; "
                "it must be written again")
    return None


def empty_select(table: str) -> str:
    """A typed, empty SELECT for a table that has no files yet."""
    duck = {pa.string(): "VARCHAR", pa.int32(): "INTEGER", pa.float64(): "DOUBLE"}
    cols = ", ".join(f"CAST(NULL AS {duck[f.type]}) AS {f.name}" for f in SCHEMAS[table])
    return f"SELECT {cols} WHERE false"
