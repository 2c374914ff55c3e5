"""Asset page metadata: column schemas that match the Parquet files, code references to the bodies."""

from __future__ import annotations

import inspect

import dagster as dg
import pytest

from fleet_assets.assets.meta import column_schema, table_metadata, tags, with_code_references
from fleet_assets.lib import tables


@pytest.mark.parametrize("table", sorted(tables.SCHEMAS))
def test_each_column_schema_is_the_parquet_schema_with_the_primary_key_unique(table):
    schema = column_schema(table)
    assert [c.name for c in schema.columns] == tables.SCHEMAS[table].names
    for col in schema.columns:
        in_pk = col.name in tables.PRIMARY_KEYS[table]
        assert col.constraints.unique is in_pk and col.constraints.nullable is not in_pk
    assert table_metadata(table) == {"dagster/column_schema": schema}


def test_columns_have_the_types_the_warehouse_shows():
    types = {c.name: c.type for c in column_schema("tombstones").columns}
    assert types["status"] == "int" and types["url"] == "string"
    assert {c.name: c.type for c in column_schema("aggregates").columns}["value"] == "float"


def test_tags_name_the_stage_and_the_storage():
    assert tags("extract", "parquet") == {"stage": "extract", "storage": "parquet",
                                          "partitioned": "date-x-target"}


def _wrapper(fn):
    import functools

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapped


@dg.asset
@_wrapper
def wrapped_asset() -> None:
    """A body behind a decorator, as state.history.reports_attempts wraps the real ones."""


def test_a_code_reference_points_at_the_body_not_the_wrapper():
    (asset,) = with_code_references([wrapped_asset])
    (ref,) = asset.specs_by_key[dg.AssetKey("wrapped_asset")].metadata[
        "dagster/code_references"].code_references
    assert ref.file_path == __file__
    assert ref.line_number == inspect.getsourcelines(inspect.unwrap(wrapped_asset.op.compute_fn
                                                                    .decorated_fn))[1]
    assert ref.line_number > inspect.getsourcelines(_wrapper)[1] + 8
