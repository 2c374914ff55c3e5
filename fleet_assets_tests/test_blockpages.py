"""Block pages: the documented walls are B by default, and C is confirmed before it counts."""

from __future__ import annotations

import gzip
import json
import random

import dagster as dg
import pytest
from scripted import Answer, ScriptedSite

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import partition_key
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool
from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
from fleet_assets.lib.failures import B, FetchOutcome
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import parse_targets
from fleet_assets.lib.taxonomy import Taxonomy
from fleet_assets.resources import build_resources
from fleet_assets.resources.fetcher import FetcherResource
from fleet_assets.state.instance import get_instance, register_targets

DATE = "2025-06-10"
H = "http://site.test"

# -- the default markers ----------------------------------------------------------------------
WALLS = {
    "cloudflare": b"<html><head><title>Just a moment...</title></head><body>"
                  b"<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/jsch/v1'></script>",
    "cloudflare-block": b"<title>Attention Required! | Cloudflare</title><div class=cf-wrapper>",
    "akamai": b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY>Reference&#32;&#35;18.7"
              b"<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18</BODY></HTML>",
    "akamai-bm": b"<html><div id='sec-if-cpt-container'><script src='/_sec/cp_challenge/ak.js'>",
    "imperva": b"<html><head><META NAME='robots' CONTENT='noindex'></head><body>"
               b"<iframe src='/_Incapsula_Resource?CWUDNSAI=24&xinfo=1'>Request unsuccessful. "
               b"Incapsula incident ID: 1234</iframe></body></html>",
    "datadome": b"<html><body><script>var dd={'rt':'c','host':'geo.captcha-delivery.com'}"
                b"</script><script src='https://ct.captcha-delivery.com/c.js'></script>",
    "perimeterx": b"<html><head><title>Access to this page has been denied</title></head>"
                  b"<body><div id='px-captcha'></div><p>Press &amp; Hold</p>",
    "hcaptcha": b"<html><head><title>Verify you are human</title></head><body>"
                b"<div class='h-captcha' data-sitekey='x'></div>",
    "recaptcha": b"<html><body><div>Our systems have detected unusual traffic from your computer "
                 b"network.</div><form action='https://www.google.com/sorry/index'>"
                 b"<div class='g-recaptcha'></div></form>",
    "sandbox-single-quotes": b"<div id='captcha-challenge'><h1>Hello</h1></div>",
}
ORDINARY = {
    "captcha-kit-product": b"<html><head><title>Captcha kit - 3D puzzle | Shop</title></head>"
                           b"<body><h1>Captcha kit</h1><p>Solve the captcha puzzle!</p>",
    "recaptcha-in-a-form": b"<html><title>Contact us</title><form><div class='g-recaptcha'>"
                           b"</div><script src='https://www.google.com/recaptcha/api.js'></script>",
    "hcaptcha-in-a-form": b"<title>Sign up</title><div class='h-captcha' data-sitekey='1'></div>"
                          b"<script src='https://js.hcaptcha.com/1/api.js'></script>",
    "datadome-sensor": b"<title>Shoes</title><script src='https://js.datadome.co/tags.js'>",
    "a-novel-named-access-denied": b"<title>Access Denied: a thriller - Books</title>",
    "mentions-cloudflare": b"<title>How we moved to Cloudflare</title><p>Just a moment, I said",
}


@pytest.mark.parametrize("name", sorted(WALLS))
def test_documented_walls_are_class_b_by_default(name):
    outcome = FetchOutcome(url=H, status=200, headers={}, body=WALLS[name], error=None,
                           proxy_id=None)
    assert Taxonomy().classify(outcome).failure is B


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_ordinary_pages_that_mention_a_captcha_are_good(name):
    outcome = FetchOutcome(url=H, status=200, headers={}, body=ORDINARY[name], error=None,
                           proxy_id=None)
    assert Taxonomy().classify(outcome).ok


# -- suspects: a good answer without any required field is asked again ---------------------------
RECORD = {"fields": {"title": {"css": "h1.t"}, "price": {"css": "span.p", "type": "float"}},
          "required": ["title", "price"]}
REAL = Answer(body=b"<html><h1 class=t>Lamp</h1><span class=p>12.5</span></html>")
WALL = Answer(body=b"<html><title>Hold on</title><div class=gate>Checking your browser</div>")
NEW_LAYOUT = Answer(body=b"<html><h2 class=name>Lamp</h2><b>12.5</b></html>")


def crawl(tmp_path, site, attempt=0, proxies=None):
    target = parse_targets({"targets": [{
        "name": "t", "urls": [f"{H}/item/{i}" for i in range(4)], "record": RECORD,
        "politeness": {"obey_robots": False}}]})["t"]
    return PartitionCrawler(target=target, date=DATE, store=LocalObjectStore(tmp_path),
                            fetcher=site, taxonomy=Taxonomy(), policies=dict(DEFAULT_POLICIES),
                            proxies=proxies, attempt=attempt, rng=random.Random(1)).run()


def stored_bodies(tmp_path, result):
    store = LocalObjectStore(tmp_path)
    return {e.url: gzip.decompress(store.get(e.object_key)) for e in result.entries
            if e.status == mf.STORED}


def test_a_wall_nobody_listed_is_asked_again_through_another_proxy_and_never_stored(tmp_path):
    site = ScriptedSite({f"{H}/item/{i}": (lambda n: WALL if n == 1 else REAL) for i in range(4)})
    # Twice as many proxies as pages: each wall burns one, and another is always free.
    pool = ProxyPool([Proxy(f"http://10.0.0.{i}:3128") for i in range(1, 9)],
                     LocalObjectStore(tmp_path / "p"), cooldown_seconds=60)
    result = crawl(tmp_path, site, proxies=pool)
    assert result.complete and result.counts()[mf.STORED] == 4
    assert set(stored_bodies(tmp_path, result).values()) == {REAL.body}
    assert result.suspects == 4 and result.confirmed_c == 0
    assert result.outcomes["suspect"] == 4 and result.outcomes["suspect_cleared"] == 4
    walled = set()
    for url in {u for u, _ in site.requests}:
        first, second = [p for u, p in site.requests if u == url]
        assert first != second  # asked again as another client
        walled.add(first)
    assert set(pool.burned("t")) == walled  # the clients that got the wall rest, as for any B


def test_without_proxies_a_suspect_waits_as_b_and_the_next_attempt_stores_the_real_page(
        tmp_path):
    site = ScriptedSite({f"{H}/item/{i}": (lambda n: WALL if n == 1 else REAL) for i in range(4)})
    first = crawl(tmp_path, site)
    assert first.counts()[mf.PENDING] == 4 and set(first.pending_by_class()) == {"B"}
    assert stored_bodies(tmp_path, first) == {}  # the wall is never stored as data
    second = crawl(tmp_path, site, attempt=1)
    assert second.complete and set(stored_bodies(tmp_path, second).values()) == {REAL.body}
    assert second.suspects == 4 and second.confirmed_c == 0
    assert all(e.failure_class is None for e in second.entries)


def test_the_same_answer_twice_is_confirmed_c_and_stored_for_the_drift_checks(tmp_path):
    site = ScriptedSite({f"{H}/item/{i}": NEW_LAYOUT for i in range(4)})
    first = crawl(tmp_path, site)
    assert first.counts()[mf.PENDING] == 4 and first.confirmed_c == 0
    second = crawl(tmp_path, site, attempt=1)
    assert second.complete and second.confirmed_c == 4
    assert {e.failure_class for e in second.entries} == {"C"}
    assert set(stored_bodies(tmp_path, second).values()) == {NEW_LAYOUT.body}
    assert len(site.requests) == 8


def test_a_page_missing_only_some_required_fields_is_not_a_suspect(tmp_path):
    half = Answer(body=b"<html><h1 class=t>Lamp</h1></html>")
    site = ScriptedSite({f"{H}/item/{i}": half for i in range(4)})
    result = crawl(tmp_path, site)
    assert result.complete and result.suspects == 0 and len(site.requests) == 4


# -- the sandbox's unlisted interstitial, through the pipeline ---------------------------------
def test_an_unlisted_interstitial_on_a_fifth_of_the_pages_loses_and_duplicates_nothing(
        fleet_env, sandbox, webhook):
    sandbox.set_faults({"interstitial_rate": 0.2, "seed": 7})
    instance = get_instance()
    register_targets(instance, ["shop", "news", "jobs"])
    resources = {**build_resources(), "fetcher": FetcherResource(backoff_scale=0.001)}
    result = dg.materialize(
        ALL, selection=["raw_pages", "extracted_records"],
        partition_key=partition_key(DATE, "shop"), instance=instance, resources=resources,
        raise_on_error=False)
    assert result.success
    walls = sandbox.stats()["faults"]["interstitial"]
    store = LocalObjectStore(fleet_env)
    entries = mf.loads(store.get(keys.manifest_key("shop", DATE)))
    urls = json.loads(store.get(keys.listing_key("shop", DATE)))["urls"]
    assert walls >= 0.1 * len(urls)  # the knob really served walls
    assert sorted(e.url for e in entries) == sorted(urls)
    assert all(e.status == mf.STORED and e.failure_class is None for e in entries)
    for e in entries:
        assert b"gate-check" not in gzip.decompress(store.get(e.object_key))
    records = tables.from_parquet(store.get(keys.table_key("records", "shop", DATE)))
    assert sorted(r["url"] for r in records) == sorted(urls)  # each item once, none lost
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    assert webhook.received == []
    raw = next(e for e in result.get_asset_materialization_events()
               if e.asset_key.to_user_string() == "raw_pages").materialization.metadata
    assert raw["suspects"].value >= sum(e.suspect for e in entries) > 0
    assert raw["confirmed_C"].value == 0


def test_the_attempt_ledger_counts_the_suspect_ask_as_b_and_the_confirmation_as_c(tmp_path):
    site = ScriptedSite({f"{H}/item/{i}": NEW_LAYOUT for i in range(4)})
    crawl(tmp_path, site)
    second = crawl(tmp_path, site, attempt=1)
    assert mf.ledger(second.entries) == {"B": 4, "C": 4}
