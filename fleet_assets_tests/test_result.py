"""lib/crawl/result.py: what one attempt produced, as retry.decide reads it."""

from __future__ import annotations

from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.result import CrawlResult
from fleet_assets.lib.failures import FailureClass, ListingFailed

A, B = FailureClass.TRANSIENT, FailureClass.ENVIRONMENTAL


def result(*entries: mf.ManifestEntry, listing: ListingFailed | None = None) -> CrawlResult:
    return CrawlResult(entries=entries, requests=0, listing_requests=0, newly_stored=0,
                       carried_over=0, bytes_stored=0, outcomes={}, proxies_rotated=0,
                       duration_seconds=0.0, attempt=0, listing_failure=listing,
                       finished_at=100.0)


def pending(url: str, cls: str | None, due: float | None) -> mf.ManifestEntry:
    return mf.ManifestEntry(url=url, natural_key=url, status="pending", failure_class=cls,
                            due_at=due)


def test_pending_pages_and_the_failed_listing_page_are_grouped_by_class():
    listing = ListingFailed("http://x/list?page=2", B, "HTTP 429", wait=30.0)
    r = result(pending("http://x/1", "A", 110.0), pending("http://x/2", None, None),
               mf.ManifestEntry(url="http://x/3", natural_key="3", status="stored"),
               listing=listing)
    assert r.pending_by_class() == {B: ["http://x/list?page=2"], A: ["http://x/1", "http://x/2"]}
    assert r.pending_count == 3 and not r.complete


def test_the_last_due_is_the_latest_page_or_listing_wait():
    listing = ListingFailed("http://x/list", A, "HTTP 503", wait=30.0)
    assert result(pending("http://x/1", "A", 110.0), listing=listing).last_due() == 130.0
    assert result(pending("http://x/1", "A", 110.0)).last_due() == 110.0
    assert result().last_due() is None and result().complete
