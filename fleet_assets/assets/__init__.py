"""One module per stage; ``ALL`` is what definitions.py assembles."""

from fleet_assets.assets.aggregates import daily_aggregates
from fleet_assets.assets.health import fleet_health
from fleet_assets.assets.raw_pages import raw_pages
from fleet_assets.assets.records import extracted_records
from fleet_assets.checks import DRIFT_CHECKS

# The drift checks ride along so that every materialization of extracted_records runs them.
ALL = [raw_pages, extracted_records, daily_aggregates, fleet_health, *DRIFT_CHECKS]
