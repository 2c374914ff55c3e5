"""The route of one request: proxy, host budget, robots.txt, one verdict (lib/crawl/route.py).

Driven through MockTransport: every request the route sends is in ``transport.sent``.
"""

from __future__ import annotations

import random

import pytest

from fleet_assets.lib.crawl.budget import MemoryBudget
from fleet_assets.lib.crawl.listing import ListingPage
from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool
from fleet_assets.lib.crawl.result import Tally
from fleet_assets.lib.crawl.retry import policies_from
from fleet_assets.lib.crawl.route import Route
from fleet_assets.lib.failures import FailureClass, ListingFailed
from fleet_assets.lib.http.fetcher import HttpFetcher
from fleet_assets.lib.http.mock import MockTransport, Scripted
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import parse_targets
from fleet_assets.lib.taxonomy import Taxonomy

BASE = "http://127.0.0.1:8787"
NOW = 1_000_000.0


def _target(obey_robots: bool = True):
    return parse_targets({"targets": [{
        "name": "shop", "urls": [f"{BASE}/item/1", f"{BASE}/item/2"],
        "politeness": {"obey_robots": obey_robots, "requests_per_second": 0},
        "record": {"fields": {"title": {"css": "h1", "type": "str"}}, "required": ["title"]},
    }]})["shop"]


def _route(script, tmp_path, proxies: int = 0, obey_robots: bool = True):
    transport = MockTransport(script=script)
    pool = None
    if proxies:
        pool = ProxyPool([Proxy(f"http://127.0.0.1:{9000 + i}") for i in range(proxies)],
                         store=LocalObjectStore(tmp_path), cooldown_seconds=60.0, clock=lambda: NOW)
    tally = Tally()
    route = Route(_target(obey_robots), HttpFetcher(transport=transport), Taxonomy(),
                  policies_from({}), pool, MemoryBudget(), tally, lambda: NOW,
                  random.Random(7), attempt=0)
    return route, transport, tally, pool


def test_robots_txt_is_fetched_once_per_origin_and_through_the_proxy(tmp_path):
    script = {f"{BASE}/robots.txt": Scripted(200, b"User-agent: *\nDisallow: /private\n"),
              f"{BASE}/item/1": Scripted(200, b"<h1>a</h1>")}
    route, transport, tally, _ = _route(script, tmp_path, proxies=1)
    first, again = route.robots(f"{BASE}/item/1"), route.robots(f"{BASE}/private/x")
    assert first is again
    assert not first.allowed(f"{BASE}/private/x") and first.allowed(f"{BASE}/item/1")
    assert transport.sent == [(f"{BASE}/robots.txt", "127.0.0.1:9000")]
    assert tally.requests == 1


def test_without_obey_robots_no_robots_request_is_sent(tmp_path):
    route, transport, _, _ = _route({}, tmp_path, obey_robots=False)
    assert route.robots(f"{BASE}/anything").allowed(f"{BASE}/anything")
    assert transport.sent == []


def test_a_429_burns_the_proxy_that_answered_for_its_retry_after(tmp_path):
    script = {f"{BASE}/item/1": Scripted(429, b"slow down", headers=(("Retry-After", "120"),))}
    route, transport, tally, pool = _route(script, tmp_path, proxies=2)
    outcome, verdict = route.fetch(f"{BASE}/item/1")
    assert verdict.failure is FailureClass.ENVIRONMENTAL
    burned = pool.burned("shop")
    assert list(burned) == [outcome.proxy_id]
    assert burned[outcome.proxy_id] == pytest.approx(NOW + 120)
    assert tally.rotated == 1 and tally.outcomes["offsite"] == 0


def test_a_5xx_is_transient_and_burns_no_proxy(tmp_path):
    route, _, tally, pool = _route({f"{BASE}/item/1": Scripted(503, b"down")}, tmp_path, proxies=2)
    _, verdict = route.fetch(f"{BASE}/item/1")
    assert verdict.failure is FailureClass.TRANSIENT
    assert pool.burned("shop") == {} and tally.rotated == 0


def test_a_disallowed_listing_page_ends_the_walk_as_hard_without_a_request(tmp_path):
    script = {f"{BASE}/robots.txt": Scripted(200, b"User-agent: *\nDisallow: /catalog\n")}
    route, transport, tally, _ = _route(script, tmp_path)
    with pytest.raises(ListingFailed) as info:
        route.listing_page(f"{BASE}/catalog/1")
    assert info.value.failure_class is FailureClass.HARD
    assert [url for url, _ in transport.sent] == [f"{BASE}/robots.txt"]
    assert tally.outcomes["listing_disallowed"] == 1


def test_a_listing_page_keeps_the_url_it_was_served_from(tmp_path):
    script = {f"{BASE}/robots.txt": Scripted(404),
              f"{BASE}/catalog": Scripted.redirect(f"{BASE}/catalog/", 301),
              f"{BASE}/catalog/": Scripted(200, b"<a href='item/1'>1</a>",
                                           headers=(("Content-Type", "text/html"),))}
    route, _, tally, _ = _route(script, tmp_path)
    page = route.listing_page(f"{BASE}/catalog")
    assert isinstance(page, ListingPage)
    assert page.final_url == f"{BASE}/catalog/"
    assert tally.listing_requests == 1


def test_a_listing_page_without_links_and_no_other_identity_waits_as_b(tmp_path):
    route, transport, _, _ = _route({}, tmp_path)
    first = ListingPage(b"<p>verify you are human</p>", f"{BASE}/catalog/", "text/html", None)
    with pytest.raises(ListingFailed) as info:
        route.listing_refetch(f"{BASE}/catalog/", first)
    assert info.value.failure_class is FailureClass.ENVIRONMENTAL
    assert transport.sent == []  # no other proxy: asked again later, not now
