"""One module per stage.

``ALL`` is the partitioned pipeline (with its drift checks, so every materialization of
extracted_records runs them); ``HEALTH`` is the unpartitioned fleet view. definitions.py
assembles both; ``dg.materialize(ALL, partition_key=...)`` runs exactly one partition.
"""

from fleet_assets.assets.aggregates import daily_aggregates
from fleet_assets.assets.health import fleet_health
from fleet_assets.assets.meta import with_code_references
from fleet_assets.assets.raw_pages import raw_pages
from fleet_assets.assets.records import extracted_records
from fleet_assets.checks import DRIFT_CHECKS

ALL = [*with_code_references([raw_pages, extracted_records, daily_aggregates]), *DRIFT_CHECKS]
HEALTH = with_code_references([fleet_health])
