"""One module per stage; ``ALL`` is what definitions.py assembles."""

from fleet_assets.assets.aggregates import daily_aggregates
from fleet_assets.assets.health import fleet_health
from fleet_assets.assets.raw_pages import raw_pages
from fleet_assets.assets.records import extracted_records

ALL = [raw_pages, extracted_records, daily_aggregates, fleet_health]
