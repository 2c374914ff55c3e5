"""robots.txt policy: RFC 9309 matching, groups, Crawl-delay and how responses map."""

from __future__ import annotations

import random
import time

import pytest
from retry_support import targets_file

from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool
from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
from fleet_assets.lib.crawl.robots import (
    FLEET_USER_AGENT,
    CrawlDelays,
    RobotsPolicy,
    product_token,
    wildcard_match,
)
from fleet_assets.lib.http.fetcher import HttpFetcher
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.lib.taxonomy import Taxonomy

SITE = "http://site.test"
DATE = "2025-06-10"


def allowed(text: str, path: str, ua: str = FLEET_USER_AGENT) -> bool:
    return RobotsPolicy.parse(text, ua).allowed(SITE + path)


def test_product_token_is_the_name_before_the_version():
    assert product_token(FLEET_USER_AGENT) == "fleet-assets"


@pytest.mark.parametrize(("path", "expected"), [
    ("/shop/2025-01-02/item/1", True),
    ("/private/x", False),
    ("/private", False),
    ("/privateer", False),   # prefix match, as the RFC says
    ("/", True),
])
def test_disallow_is_a_path_prefix(path, expected):
    assert allowed("User-agent: *\nDisallow: /private\n", path) is expected


def test_longest_match_wins_over_file_order():
    text = "User-agent: *\nDisallow: /shop\nAllow: /shop/public\n"
    assert allowed(text, "/shop/public/1") is True
    assert allowed(text, "/shop/secret") is False


def test_allow_wins_a_tie():
    assert allowed("User-agent: *\nDisallow: /a\nAllow: /a\n", "/a/b") is True


@pytest.mark.parametrize(("path", "expected"), [
    ("/x/page.pdf", False), ("/x/page.pdf?dl=1", True), ("/search?q=1", False),
    ("/searching", True),
])
def test_wildcards_and_end_anchor(path, expected):
    text = "User-agent: *\nDisallow: /*.pdf$\nDisallow: /search?\n"
    assert allowed(text, path) is expected


def test_our_group_replaces_the_star_group():
    text = ("User-agent: *\nDisallow: /\n\n"
            "User-agent: Fleet-Assets\nDisallow: /admin\nCrawl-delay: 2\n")
    policy = RobotsPolicy.parse(text)
    assert policy.allowed(SITE + "/shop/1") and not policy.allowed(SITE + "/admin/x")
    assert policy.crawl_delay == 2.0


def test_groups_naming_other_bots_do_not_apply():
    text = "User-agent: googlebot\nDisallow: /\n"
    assert allowed(text, "/anything") is True


def test_consecutive_user_agent_lines_share_a_group_and_groups_merge():
    text = ("User-agent: other\nUser-agent: fleet-assets\nDisallow: /a\n"
            "User-agent: fleet-assets\nDisallow: /b\n")
    assert not allowed(text, "/a/1") and not allowed(text, "/b/1") and allowed(text, "/c")


def test_crawl_delay_of_the_star_group():
    policy = RobotsPolicy.parse("# sandbox\nUser-agent: *\nAllow: /\nCrawl-delay: 0.5\n")
    assert policy.crawl_delay == 0.5 and policy.allowed(SITE + "/x")
    assert RobotsPolicy.parse("User-agent: *\nCrawl-delay: soon\n").crawl_delay is None


def test_comments_blank_values_and_rules_before_any_group_are_ignored():
    text = "Disallow: /\nUser-agent: * # everyone\nDisallow:\nDisallow: /tmp # scratch\n"
    assert allowed(text, "/x") and not allowed(text, "/tmp/1")


def test_robots_txt_itself_is_always_allowed():
    assert allowed("User-agent: *\nDisallow: /\n", "/robots.txt")


def test_percent_encoding_case_does_not_matter():
    assert not allowed("User-agent: *\nDisallow: /caf%c3%a9\n", "/caf%C3%A9/menu")


def test_sandbox_robots_with_disallow_and_crawl_delay():
    from fleet_assets.sandbox.faults import Faults
    from fleet_assets.sandbox.sites import robots_txt

    body = robots_txt(Faults(robots_disallow=("/shop/",), crawl_delay=1.5))
    policy = RobotsPolicy.from_response(200, body)
    assert not policy.allowed(SITE + "/shop/2025-01-02/catalog")
    assert policy.allowed(SITE + "/news/2025-01-02/index")
    assert policy.crawl_delay == 1.5


@pytest.mark.parametrize("status", [404, 410, 401, 403, 301])
def test_missing_or_unavailable_robots_allows_everything(status):
    policy = RobotsPolicy.from_response(status, b"User-agent: *\nDisallow: /\n")
    assert policy.allowed(SITE + "/anything") and not policy.unreachable


@pytest.mark.parametrize(("status", "body"), [(500, b""), (503, None), (None, None), (200, None)])
def test_unreachable_robots_disallows_everything_for_now(status, body):
    policy = RobotsPolicy.from_response(status, body)
    assert not policy.allowed(SITE + "/anything") and policy.unreachable
    assert policy.allowed(SITE + "/robots.txt")


def test_empty_robots_allows_everything():
    assert RobotsPolicy.from_response(200, b"").allowed(SITE + "/x")


def test_huge_robots_is_parsed_up_to_its_first_500_kib():
    text = "User-agent: *\nDisallow: /early\n" + "# pad\n" * 100_000 + "Disallow: /late\n"
    policy = RobotsPolicy.from_response(200, text.encode())
    assert not policy.allowed(SITE + "/early") and policy.allowed(SITE + "/late")


# -- linear-time matching, Crawl-delay cap, the route robots.txt takes ---------------------------
def test_a_catastrophic_rule_is_matched_fast():
    rule = "/" + "*a" * 21 + "*b"  # 45 bytes: a regex backtracks through ~C(59, 21) splits
    assert len(rule) == 45
    path = "/" + "a" * 59
    policy = RobotsPolicy.parse(f"User-agent: *\nDisallow: {rule}\n")
    started = time.process_time()
    for _ in range(100):
        assert policy.allowed(SITE + path) is True
    assert time.process_time() - started < 5  # 100 checks; a backtracking matcher needs minutes
    assert policy.allowed(SITE + path + "b") is False


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("/a*b*c", "/aXbYc", True), ("/a*b*c", "/aXcYb", False), ("/*.php$", "/x.php", True),
    ("/*.php$", "/x.php?y", False), ("/a*a$", "/a", False), ("/a*a$", "/aa", True),
    ("*", "/anything", True), ("/$", "/", True), ("/$", "/x", False), ("/x*", "/x", True),
    ("/**b", "/ab", True), ("/a*ab$", "/aab", True), ("/a*ab$", "/ab", False),
])
def test_wildcard_matching_agrees_with_the_rfc(pattern, path, expected):
    assert wildcard_match(pattern, path) is expected


def test_a_long_crawl_delay_lets_one_page_through_and_defers_the_rest():
    delays = CrawlDelays(cap=30)
    assert delays.interval(5) == 5 and delays.interval(86400) == 30 and delays.interval(None) is None
    assert delays.claim("h", 5, now=100.0) is None  # under the cap: the rate limiter spaces it
    assert delays.claim("h", 86400, now=100.0) is None
    assert delays.claim("h", 86400, now=101.0) == 100.0 + 86400
    assert delays.claim("other", 86400, now=101.0) is None
    assert delays.claim("h", 86400, now=100.0 + 86400) is None


def _crawler(home, tmp_path, name, proxies=None, **overrides):
    target = load_targets(targets_file(tmp_path, **{name: overrides}))[name]
    return PartitionCrawler(target=target, date=DATE, store=LocalObjectStore(home),
                            fetcher=HttpFetcher(), taxonomy=Taxonomy(),
                            policies=dict(DEFAULT_POLICIES), proxies=proxies, rng=random.Random(1))


def test_robots_txt_goes_through_the_proxy_route(fleet_env, sandbox, tmp_path):
    pool = ProxyPool([Proxy(u) for u in sandbox.proxy_urls], store=LocalObjectStore(fleet_env),
                     cooldown_seconds=60)
    result = _crawler(fleet_env, tmp_path, "jobs", proxies=pool).run()
    stats = sandbox.stats()
    assert result.complete and stats["by_target"]["robots.txt"] == 1
    assert "direct" not in stats["by_client"]  # the worker's own address never reached the site


def test_listing_pages_obey_robots(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"robots_disallow": [f"/shop/{DATE}/catalog"]})
    discovery = _crawler(fleet_env, tmp_path, "shop").discover()
    # Disallowed is a terminal answer: the walk ends there (listing.py's rule for class D).
    assert discovery.urls == () and discovery.dead is not None
    assert "robots.txt" in discovery.dead.reason
    assert sandbox.stats()["by_target"].get("shop", 0) == 0


def test_a_crawl_delay_over_the_cap_defers_pages_instead_of_sleeping(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"crawl_delay": 86400})
    started = time.monotonic()
    result = _crawler(fleet_env, tmp_path, "jobs",
                      politeness={"max_crawl_delay_seconds": 1}).run()
    assert time.monotonic() - started < 30  # not 15 x 86400 s
    assert result.counts()["stored"] == 1 and len(result.pending) == 14
    assert all(e.due_at is not None and e.due_at > time.time() + 86000 and e.attempts == 0
               for e in result.pending)
    assert sandbox.stats()["by_target"]["jobs"] == 1
