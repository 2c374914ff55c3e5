"""The listing walk: links from the final URL, how a walk ends, duplicates collapsed."""

from __future__ import annotations

import random

import dagster as dg
from retry_support import failure_metadata, retries, run, step_failure, targets_file
from scripted import Answer, ScriptedSite

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
from fleet_assets.lib.failures import B, C, D
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import parse_targets
from fleet_assets.lib.taxonomy import Taxonomy

DATE = "2025-06-10"
H = "http://site.test"
RECORD = {"fields": {"title": {"css": "h1"}}, "required": ["title"]}


def target(**spec):
    doc = {"targets": [{"name": "t", "record": RECORD,
                        "politeness": {"obey_robots": False}, **spec}]}
    return parse_targets(doc)["t"]


def item(title: str) -> Answer:
    return Answer(body=f"<html><h1>{title}</h1></html>".encode())


def crawl(tmp_path, site, attempt=0, **spec):
    return PartitionCrawler(target=target(**spec), date=DATE, store=LocalObjectStore(tmp_path),
                            fetcher=site, taxonomy=Taxonomy(), policies=dict(DEFAULT_POLICIES),
                            attempt=attempt, rng=random.Random(1)).run()


def listing(start: str, **extra):
    return {"listing": {"start_url": start, "link": {"css": "a.i", "attr": "href"}, **extra}}


def index(*hrefs: str, nxt: str | None = None) -> Answer:
    links = "".join(f"<a class=i href='{h}'>{h}</a>" for h in hrefs)
    more = f"<a class=next href='{nxt}'>next</a>" if nxt else ""
    return Answer(body=f"<html><body>{links}{more}</body></html>".encode())


def test_links_resolve_against_the_final_url_of_a_redirected_start_page(tmp_path):
    # /py/library answers 301 -> /py/library/; relative links live under /py/library/.
    names = [f"mod{i}.html" for i in range(20)]
    site = ScriptedSite({f"{H}/py/library/": index(*names),
                         **{f"{H}/py/library/{n}": item(n) for n in names}},
                        redirects={f"{H}/py/library": f"{H}/py/library/"})
    result = crawl(tmp_path, site, **listing(f"{H}/py/library"))
    assert result.counts()["stored"] == 20 and result.counts()["gone"] == 0
    assert {e.url for e in result.entries} == {f"{H}/py/library/{n}" for n in names}
    assert site.count(lambda u: u.startswith(f"{H}/py/mod")) == 0  # no wrong-URL requests


def test_next_page_and_links_follow_base_href(tmp_path):
    page1 = Answer(body=(b"<html><head><base href='/docs/v2/'></head><body>"
                         b"<a class=i href='a.html'>a</a><a class=next href='list2'>n</a>"
                         b"</body></html>"))
    site = ScriptedSite({f"{H}/start": page1, f"{H}/docs/v2/list2": index("b.html"),
                         f"{H}/docs/v2/a.html": item("a"), f"{H}/docs/v2/b.html": item("b")})
    result = crawl(tmp_path, site, **listing(f"{H}/start", next_page={"css": "a.next",
                                                                       "attr": "href"}))
    assert sorted(e.url for e in result.entries) == [f"{H}/docs/v2/a.html", f"{H}/docs/v2/b.html"]
    assert result.complete and result.counts()["stored"] == 2


def test_a_resumed_walk_resolves_stored_pages_against_their_final_url(tmp_path):
    broken = {"on": True}

    def page2(n):
        return Answer(503, b"busy") if broken["on"] else index("c.html")

    site = ScriptedSite({f"{H}/l/": index("a.html", nxt="p2"), f"{H}/l/p2": page2,
                         f"{H}/l/a.html": item("a"), f"{H}/l/c.html": item("c")},
                        redirects={f"{H}/l": f"{H}/l/"})
    spec = listing(f"{H}/l", next_page={"css": "a.next", "attr": "href"})
    first = crawl(tmp_path, site, **spec)
    assert first.listing_failure is not None and first.listing_failure.url == f"{H}/l/p2"
    broken["on"] = False
    second = crawl(tmp_path, site, attempt=1, **spec)
    assert second.complete
    assert sorted(e.url for e in second.entries) == [f"{H}/l/a.html", f"{H}/l/c.html"]
    assert site.count(lambda u: u == f"{H}/l") == 1  # page 1 came from the store


def test_a_404_start_page_fails_naming_the_url_and_writes_a_manifest(tmp_path):
    site = ScriptedSite({})
    result = crawl(tmp_path, site, **listing(f"{H}/gone"))
    assert result.listing_dead is not None and result.listing_dead.failure_class is D
    assert result.listing_dead.url == f"{H}/gone"
    assert result.listing_failure is None and result.entries == ()
    assert LocalObjectStore(tmp_path).exists(keys.manifest_key("t", DATE))


def test_a_404_after_the_last_listing_page_keeps_what_was_found(tmp_path):
    site = ScriptedSite({f"{H}/l1": index("/a", nxt="/l2"), f"{H}/a": item("a")})
    result = crawl(tmp_path, site, **listing(f"{H}/l1", next_page={"css": "a.next",
                                                                   "attr": "href"}))
    assert result.complete and result.listing_dead is None
    assert [e.url for e in result.entries] == [f"{H}/a"]
    assert result.outcomes.get("listing_D") == 1


def test_a_start_page_whose_link_selector_matches_nothing_twice_is_c(tmp_path):
    site = ScriptedSite({f"{H}/l": Answer(body=b"<html><p>new layout</p></html>")})
    first = crawl(tmp_path, site, **listing(f"{H}/l"))
    # Asked once: a suspect (maybe a wall), asked again as another client after a B wait.
    assert first.listing_failure is not None and first.listing_failure.failure_class is B
    assert first.listing_dead is None and first.outcomes["suspect"] == 1
    second = crawl(tmp_path, site, attempt=1, **listing(f"{H}/l"))
    assert second.listing_dead is not None and second.listing_dead.failure_class is C
    assert "a.i" in second.listing_dead.reason
    assert site.count(lambda u: u == f"{H}/l") == 2


def test_a_link_less_listing_page_that_was_a_wall_is_walked_on_the_next_attempt(tmp_path):
    wall = Answer(body=b"<html><title>Hold on</title><p>checking your browser</p></html>")
    site = ScriptedSite({f"{H}/l": lambda n: wall if n == 1 else index("/a"),
                         f"{H}/a": item("a")})
    first = crawl(tmp_path, site, **listing(f"{H}/l"))
    assert first.listing_failure is not None and first.entries == ()
    second = crawl(tmp_path, site, attempt=1, **listing(f"{H}/l"))
    assert second.complete and [e.url for e in second.entries] == [f"{H}/a"]


def test_duplicate_urls_after_date_expansion_are_fetched_once(tmp_path):
    site = ScriptedSite({f"{H}/p/{DATE}/1": item("one"), f"{H}/p/2": item("two")})
    urls = [f"{H}/p/{{date}}/1", f"{H}/p/{DATE}/1", f"{H}/p/2", f"{H}/p/2#top"]
    result = crawl(tmp_path, site, urls=urls)
    assert sorted(e.url for e in result.entries) == [f"{H}/p/2", f"{H}/p/{DATE}/1"]
    assert len({e.natural_key for e in result.entries}) == 2
    assert result.counts()[mf.STORED] == 2 and len(site.requests) == 2


def test_a_404_listing_start_page_fails_the_step_naming_it_with_no_retry(
        fleet_env, sandbox, tmp_path):
    start = f"{sandbox.url}/shop/{{date}}/no-such-catalog"
    path = targets_file(tmp_path, shop={"listing": {
        "start_url": start, "link": {"css": "a.product-link", "attr": "href"}}})
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "shop", path)
    assert not result.success and not retries(result)
    failure = step_failure(result).event_specific_data
    assert failure.user_failure_data is not None  # a dg.Failure with a message, no traceback
    url = start.replace("{date}", DATE)
    assert url in failure.error.message and "(D)" in failure.error.message
    assert failure_metadata(result)["listing_url"] == url
    assert LocalObjectStore(fleet_env).exists(keys.manifest_key("shop", DATE))
