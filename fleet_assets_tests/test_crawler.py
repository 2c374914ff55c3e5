"""PartitionCrawler against the sandbox: politeness, robots.txt, listing resume, tombstone identity."""

from __future__ import annotations

import random
import shutil
import threading
import time

import dagster as dg
import pytest
from retry_support import targets_file

from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
from fleet_assets.lib.failures import A
from fleet_assets.lib.http.fetcher import HttpFetcher
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.lib.taxonomy import Taxonomy
from fleet_assets.settings import LOCAL_INSTANCE_YAML

DATE = "2025-06-10"


class Recording:
    """A real HttpFetcher that notes every request: url, sent, answered, and the peak in flight."""

    def __init__(self, on_response=None):
        self.inner = HttpFetcher()
        self.log: list[tuple[str, float, float, int | None]] = []
        self.on_response = on_response
        self._lock = threading.Lock()
        self.in_flight = self.peak = 0

    def fetch(self, url, proxy=None, headers=None):
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        sent = time.time()
        try:
            outcome = self.inner.fetch(url, proxy=proxy, headers=headers)
        finally:
            with self._lock:
                self.in_flight -= 1
        self.log.append((url, sent, time.time(), outcome.status))
        if self.on_response:
            self.on_response(url, outcome)
        return outcome

    def pages(self) -> list[tuple[str, float, float, int | None]]:
        return [r for r in self.log if not r[0].endswith("/robots.txt")]


def crawler(home, tmp_path, name, fetcher, attempt=0, **overrides):
    target = load_targets(targets_file(tmp_path, **{name: overrides}))[name]
    return PartitionCrawler(target=target, date=DATE, store=LocalObjectStore(home),
                            fetcher=fetcher, taxonomy=Taxonomy(), policies=dict(DEFAULT_POLICIES),
                            attempt=attempt, rng=random.Random(1))


def test_robots_disallowed_pages_are_recorded_and_never_requested(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"robots_disallow": [f"/jobs/{DATE}/job/2"]})
    rec = Recording()
    result = crawler(fleet_env, tmp_path, "jobs", rec).run()
    disallowed = [e.url for e in result.entries if e.status == mf.DISALLOWED]
    assert [u.rsplit("/", 1)[-1] for u in disallowed] == ["2"]
    assert result.complete
    assert sandbox.stats()["by_target"]["jobs"] == 14
    assert all(not r[0].endswith("/job/2") for r in rec.log)


def test_robots_can_be_ignored_per_target(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"robots_disallow": ["/jobs/"]})
    result = crawler(fleet_env, tmp_path, "jobs", Recording(),
                     politeness={"obey_robots": False}).run()
    assert result.counts()["stored"] == 15
    assert "robots.txt" not in sandbox.stats()["by_target"]


def test_crawl_delay_spaces_the_requests_to_one_host(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"crawl_delay": 0.1})
    rec = Recording()
    crawler(fleet_env, tmp_path, "jobs", rec).run()
    sent = sorted(r[1] for r in rec.pages())
    assert len(sent) == 15
    # 15 requests at one per 0.1 s need at least 1.4 s (a late wake-up may shorten one gap,
    # never the whole span)
    assert sent[-1] - sent[0] >= 1.4 - 0.02


def test_requests_per_second_is_a_token_bucket_per_host(fleet_env, sandbox, tmp_path):
    rec = Recording()
    crawler(fleet_env, tmp_path, "jobs", rec,
            politeness={"requests_per_second": 20, "max_concurrency": 4}).run()
    sent = sorted(r[1] for r in rec.pages())
    assert sent[-1] - sent[0] >= 14 / 20 - 0.02


def test_max_concurrency_caps_the_requests_in_flight(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"slow_rate": 1.0, "slow_seconds": 0.15, "only_targets": ["jobs"]})
    rec = Recording()
    crawler(fleet_env, tmp_path, "jobs", rec, politeness={"max_concurrency": 3}).run()
    assert rec.peak == 3


def test_a_retried_listing_resumes_at_the_page_that_failed(fleet_env, sandbox, tmp_path):
    def break_after_first_catalog_page(url, outcome):
        if "catalog" in url and outcome.status == 200:
            sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["shop"]})

    first = Recording(on_response=break_after_first_catalog_page)
    partial = crawler(fleet_env, tmp_path, "shop", first).run()
    failed = partial.listing_failure
    assert failed is not None and failed.failure_class is A and "page=2" in failed.url
    assert not partial.complete and partial.pending_by_class()["A"][0] == failed.url
    assert len(partial.entries) == 20  # page 1's links were fetched in the same attempt
    sandbox.set_faults({})
    second = Recording()
    result = crawler(fleet_env, tmp_path, "shop", second, attempt=1).run()
    catalog = [r[0] for r in second.pages() if "catalog" in r[0]]
    assert catalog and all("page=" in u for u in catalog)  # page 1 came from the store
    assert result.complete and result.counts()["stored"] == len(result.entries) > 20


def test_dagster_yaml_limits_runs_per_target(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(LOCAL_INSTANCE_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
    by_key = {limit["key"]: limit for limit in limits}
    assert by_key["dagster/partition/target"]["value"] == {"applyLimitPerUniqueValue": True}
    assert by_key["dagster/partition/target"]["limit"] >= 1



class FailingStore(LocalObjectStore):
    """The local store, with raw page writes failing (a full disk, a store outage)."""

    def put_if_absent(self, key, data):
        if key.endswith(".html.gz") and "/_listing/" not in key:
            raise OSError(28, "No space left on device")
        return super().put_if_absent(key, data)


def test_an_attempt_that_fails_stops_at_the_pages_in_flight(fleet_env, sandbox, tmp_path, monkeypatch):
    """A store outage (or a cancelled run) ends the attempt: the queued pages are not fetched.

    Two threads; the first two pages fail to store; later fetches wait until the attempt's
    pool is shut down, so at most the two threads' next pages start after them: 2-4 pages of
    15, whatever the timing (all 15 before pool.shutdown(cancel_futures=True))."""
    from concurrent.futures import ThreadPoolExecutor

    from fleet_assets.lib.crawl import crawler as crawler_module

    gate = threading.Event()
    started = []

    class GatedPool(ThreadPoolExecutor):
        def shutdown(self, wait=True, *, cancel_futures=False):
            super().shutdown(wait=False, cancel_futures=cancel_futures)
            gate.set()  # what was not cancelled may run now
            super().shutdown(wait=wait)

    class Gated(Recording):
        def fetch(self, url, proxy=None, headers=None):
            if not url.endswith("/robots.txt"):
                with self._lock:
                    started.append(url)
                    first_two = len(started) <= 2
                if not first_two:
                    assert gate.wait(timeout=60), "the attempt never shut its pool down"
            return super().fetch(url, proxy=proxy, headers=headers)

    monkeypatch.setattr(crawler_module, "ThreadPoolExecutor", GatedPool)
    rec = Gated()
    target = load_targets(targets_file(tmp_path, jobs={"politeness": {"max_concurrency": 2}}))["jobs"]
    attempt = PartitionCrawler(target=target, date=DATE, store=FailingStore(fleet_env), fetcher=rec,
                               taxonomy=Taxonomy(), policies=dict(DEFAULT_POLICIES), rng=random.Random(1))
    with pytest.raises(OSError, match="No space left"):
        attempt.run()
    assert 2 <= len(rec.pages()) <= 4
