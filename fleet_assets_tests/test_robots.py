"""robots.txt policy: RFC 9309 matching, groups, Crawl-delay and how responses map."""

from __future__ import annotations

import pytest

from fleet_assets.lib.crawl.robots import FLEET_USER_AGENT, RobotsPolicy, product_token

SITE = "http://site.test"


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
