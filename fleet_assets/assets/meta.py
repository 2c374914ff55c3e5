"""What every asset page shows besides its data: owners, tags, code references, column schemas.

The column schemas are derived from ``lib/tables.SCHEMAS`` (the Parquet schemas the assets
write), so the page can never disagree with the files; ``dagster/row_count`` is reported by
each materialization next to them.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Sequence

import dagster as dg
import pyarrow as pa

from fleet_assets.lib import tables

OWNERS = ["team:fleet"]

_TYPES = {pa.string(): "string", pa.int32(): "int", pa.int64(): "int", pa.float64(): "float"}
_DESCRIPTIONS = {
    "natural_key": "sha256(url|date): the primary key of a page in a partition",
    "item_key": "sha256(target|identity): one item followed across days",
    "target": "the target's name in targets.yaml (partition dimension `target`)",
    "date": "the partition's logical date (YYYY-MM-DD), never the wall clock",
    "url": "the page's URL",
    "content_sha256": "sha256 of the stored body",
    "data": "the extracted fields as a JSON object (typed in the records_<target> views)",
    "metric": "the metric's name: records, distinct_items, avg_<field>, count_<field>, ...",
    "value": "the metric's value (null when undefined, e.g. an average of no values)",
}


def tags(stage: str, storage: str) -> dict[str, str]:
    """Tags shared by the pipeline's assets: filterable in the asset catalog."""
    return {"stage": stage, "storage": storage, "partitioned": "date-x-target"}


def column_schema(table: str) -> dg.TableSchema:
    """The Dagster column schema of one of ``lib/tables.SCHEMAS``."""
    pk = set(tables.PRIMARY_KEYS[table])
    return dg.TableSchema(columns=[
        dg.TableColumn(
            name=f.name,
            type=_TYPES.get(f.type, str(f.type)),
            description=_DESCRIPTIONS.get(f.name, ""),
            constraints=dg.TableColumnConstraints(nullable=f.name not in pk, unique=f.name in pk),
        )
        for f in tables.SCHEMAS[table]
    ])


def table_metadata(table: str) -> dict[str, object]:
    """Definition metadata of an asset stored as ``table``: its column schema."""
    return {"dagster/column_schema": column_schema(table)}


def with_code_references(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Each asset page links to the file and line of its body.

    ``dg.with_source_code_references`` points at the function the op calls, which for a
    body wrapped by a decorator (``state.history.reports_attempts``) is the wrapper's
    module; ``inspect.unwrap`` finds the body that ``functools.wraps`` recorded.
    """
    out = []
    # The code-reference classes are beta in Dagster 1.13; used on purpose, so their notice
    # is not repeated by every process that loads the code location.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        for asset in assets:
            body = inspect.unwrap(asset.op.compute_fn.decorated_fn)
            ref = dg.LocalFileCodeReference(file_path=os.path.abspath(inspect.getsourcefile(body) or ""),
                                            line_number=inspect.getsourcelines(body)[1])
            refs = dg.CodeReferencesMetadataValue(code_references=[ref])
            out.append(asset.map_asset_specs(
                lambda spec, refs=refs: spec.merge_attributes(metadata={"dagster/code_references": refs})))
    return out
