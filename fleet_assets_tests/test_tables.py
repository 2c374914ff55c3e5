"""Warehouse table files: same rows give the same bytes, a bad file is named, never read as data."""

from __future__ import annotations

import duckdb
import pytest

from fleet_assets.lib import tables

ROWS = [{"target": "shop", "date": "2025-06-10", "metric": m, "value": v}
        for m, v in [("stored", 40.0), ("failed", 2.0), ("bytes", 1e6)]]


def test_the_same_rows_in_any_order_give_the_same_bytes_sorted_by_primary_key():
    one = tables.to_parquet("aggregates", ROWS)
    assert tables.to_parquet("aggregates", list(reversed(ROWS))) == one
    assert [r["metric"] for r in tables.from_parquet(one)] == ["bytes", "failed", "stored"]


def test_rows_keep_only_the_schema_columns_and_missing_ones_are_null():
    data = tables.to_parquet("tombstones", [{"natural_key": "k", "target": "shop", "extra": 1}])
    (row,) = tables.from_parquet(data)
    assert list(row) == tables.SCHEMAS["tombstones"].names
    assert row["natural_key"] == "k" and row["status"] is None


def test_a_duplicate_primary_key_in_one_partition_is_refused():
    with pytest.raises(ValueError, match="records: duplicate primary key"):
        tables.to_parquet("records", [{"natural_key": "k"}, {"natural_key": "k"}])


def test_a_whole_file_has_no_problem():
    assert tables.parquet_problem(tables.to_parquet("aggregates", ROWS), "aggregates", 3) is None


@pytest.mark.parametrize("damage, words", [
    (lambda d: d[: len(d) - 30], "not a readable Parquet file"),
    (lambda d: b"", "not a readable Parquet file"),
])
def test_a_truncated_file_is_a_problem(damage, words):
    problem = tables.parquet_problem(damage(tables.to_parquet("aggregates", ROWS)))
    assert problem is not None and words in problem and "written again" in problem


def test_another_schema_or_row_count_is_a_problem():
    data = tables.to_parquet("aggregates", ROWS)
    assert "not the records schema" in tables.parquet_problem(data, "records")
    assert "holds 3 rows, the step that wrote it reported 4" in tables.parquet_problem(
        data, "aggregates", 4)


@pytest.mark.parametrize("table", sorted(tables.SCHEMAS))
def test_the_empty_select_has_each_table_columns_and_no_row(table):
    rel = duckdb.sql(tables.empty_select(table))
    assert rel.columns == tables.SCHEMAS[table].names and rel.fetchall() == []
