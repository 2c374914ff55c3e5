"""Tombstones and identity across days: what is gone for good, what for one day only."""

from __future__ import annotations

import dagster as dg
import duckdb
from retry_support import run, targets_file
from test_crawler import DATE

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
from fleet_assets.lib.crawl.tombstones import TombstoneIndex
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.lib.taxonomy import Taxonomy
from fleet_assets.resources.fetcher import FetcherResource

DAY2 = "2025-06-11"


def test_url_identity_replaces_the_partition_date():
    assert keys.url_identity("http://h/jobs/2025-06-10/job/3", "2025-06-10") == \
        "http://h/jobs/{date}/job/3"
    assert keys.url_identity("http://h/a?d=2025-06-10", "2025-06-11") == "http://h/a?d=2025-06-10"


def test_tombstone_index_keeps_the_first_day_seen_gone(tmp_path):
    index = TombstoneIndex(LocalObjectStore(tmp_path), "jobs")
    url = "http://h/jobs/{}/job/3"
    index.record(url.format("2025-06-12"), "2025-06-12", 404, "HTTP 404", "ev12")
    assert index.record(url.format("2025-06-14"), "2025-06-14", 404, "HTTP 404",
                        "ev14").first_seen_gone == "2025-06-12"
    index.record(url.format("2025-06-10"), "2025-06-10", 410, "HTTP 410", "ev10")  # a backfill
    assert index.get(url.format("2025-06-20"), "2025-06-20").first_seen_gone == "2025-06-10"
    assert index.skip(url.format("2025-06-10"), "2025-06-10") is None  # that day: fetched
    assert index.skip(url.format("2025-06-09"), "2025-06-09") is None  # before: fetched
    assert index.skip(url.format("2025-06-11"), "2025-06-11").evidence_key == "ev10"


def jobs_crawl(home, tmp_path, cap: int, date: str = DATE):
    """One attempt at jobs with the fetcher the resource builds for a ``max_body_bytes`` cap."""
    target = load_targets(targets_file(tmp_path, jobs={"max_body_bytes": cap}))["jobs"]
    return PartitionCrawler(target=target, date=date, store=LocalObjectStore(home),
                            fetcher=FetcherResource().http(target), taxonomy=Taxonomy(),
                            policies=dict(DEFAULT_POLICIES)).run()


def test_an_oversize_page_is_gone_that_day_only_and_a_raised_cap_fetches_it(
        fleet_env, sandbox, tmp_path):
    small = jobs_crawl(fleet_env, tmp_path, 64)
    assert small.counts()[mf.GONE] == 15
    assert all(e.max_body_bytes == 64 and e.object_key.endswith(".gone.json.gz")
               for e in small.entries)
    store = LocalObjectStore(fleet_env)
    assert list(store.list("state/tombstones/jobs/")) == []  # never a cross-day tombstone
    # The next day it is fetched again (still over the cap: gone again, that day only).
    sandbox.reset_stats()
    day2 = jobs_crawl(fleet_env, tmp_path, 64, DAY2)
    assert day2.counts()[mf.GONE] == 15 and day2.outcomes.get("tombstoned", 0) == 0
    assert sandbox.stats()["by_target"]["jobs"] == 15
    # The cap raised: the same partition fetches those pages again and stores them...
    raised = jobs_crawl(fleet_env, tmp_path, 2_000_000)
    assert raised.counts()[mf.STORED] == 15 and raised.counts()[mf.GONE] == 0
    # ...and a re-run with that cap sends nothing.
    assert jobs_crawl(fleet_env, tmp_path, 2_000_000).requests == 0


def test_without_record_id_the_same_pages_on_day_two_are_neither_new_nor_delisted(
        fleet_env, sandbox, tmp_path):
    path = targets_file(tmp_path, jobs={"record": {
        "fields": {"title": {"css": "h1.job-title"}, "company": {"css": "span.company"}},
        "required": ["title", "company"]}})
    with dg.instance_for_test() as instance:
        for date in (DATE, DAY2):
            assert run(instance, date, "jobs", path,
                       selection=["raw_pages", "extracted_records"]).success
        for date in (DATE, DAY2):
            assert run(instance, date, "jobs", path, selection=["daily_aggregates"]).success
    con = duckdb.connect(str(fleet_env / "warehouse.duckdb"), read_only=True)
    day2 = dict(con.execute(
        "SELECT metric, value FROM aggregates WHERE target='jobs' AND date=?", [DAY2]).fetchall())
    con.close()
    assert day2["records"] == 15
    assert day2["new_items"] == 0 and day2["delisted_items"] == 0
