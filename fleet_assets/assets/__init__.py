"""One module per stage.

``ALL`` is the partitioned pipeline (with its drift checks, so every materialization of
extracted_records runs them); ``HEALTH`` is the unpartitioned fleet view. definitions.py
assembles both; ``dg.materialize(ALL, partition_key=...)`` runs exactly one partition.
"""

import warnings

import dagster as dg

from fleet_assets.assets.aggregates import daily_aggregates
from fleet_assets.assets.health import fleet_health
from fleet_assets.assets.raw_pages import raw_pages
from fleet_assets.assets.records import extracted_records
from fleet_assets.checks import DRIFT_CHECKS

# Code references: each asset page links to the file and line that defines it. The API is
# beta in Dagster 1.13; we use it on purpose, so its notice is not repeated by every process.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    ALL = [*dg.with_source_code_references([raw_pages, extracted_records, daily_aggregates]),
           *DRIFT_CHECKS]
    HEALTH = dg.with_source_code_references([fleet_health])
