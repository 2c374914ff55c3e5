"""Hostile probes nobody on the team wrote the pages for: walls, charsets and redirects.

A scripted ``http.server`` on loopback (port 0) answers each path from a table the test
fills; every request goes through the one fetcher (``HttpFetcher`` on urllib3), the
taxonomy, extraction and ``PartitionCrawler``. Each case names what a user must see.
"""

from __future__ import annotations

import gzip
import http.server
import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest

from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.retry import policies_from
from fleet_assets.lib.decode import decode_html
from fleet_assets.lib.extract import extract_record
from fleet_assets.lib.failures import B, ErrorKind, FetchOutcome
from fleet_assets.lib.http.fetcher import FetchSettings, HttpFetcher
from fleet_assets.lib.http.origins import target_policy
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import TargetConfigError, load_targets, parse_targets
from fleet_assets.lib.taxonomy import Taxonomy

DATE = "2025-06-10"
Reply = tuple[int, list[tuple[str, str]], bytes]
REAL = (b"<html><head><title>Lamp | Shop</title></head><body><h1 class=t>Lamp</h1>"
        b"<span class=p>12.5</span></body></html>")
RECORD = {"fields": {"title": {"css": "h1.t"}, "price": {"css": "span.p", "type": "float"}},
          "required": ["title", "price"]}


class Site(http.server.ThreadingHTTPServer):
    """Loopback server: ``routes[path](n)`` answers the n-th request (1-based) for ``path``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Callable[[int], Reply]] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        site: Site = self.server  # type: ignore[assignment]
        with site.lock:
            site.hits[self.path] += 1
            n = site.hits[self.path]
        route = site.routes.get(self.path)
        status, headers, body = route(n) if route else (404, [], b"<h1>not found</h1>")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site():
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def html(body: bytes, ctype: str = "text/html") -> Callable[[int], Reply]:
    return lambda n: (200, [("Content-Type", ctype)], body)


def crawl(store, target, attempt=0, date=DATE):
    # as FetcherResource builds it: one fetcher per target, bound to the target's origins
    fetcher = HttpFetcher(FetchSettings(timeout_seconds=5), origins=target_policy(target))
    try:
        return PartitionCrawler(target, date, store, fetcher, Taxonomy(), policies_from({}),
                                attempt=attempt, rng=random.Random(1)).run()
    finally:
        fetcher.close()


def url_target(urls, record=RECORD):
    return parse_targets({"targets": [{"name": "t", "urls": urls, "record": record,
                                       "politeness": {"obey_robots": False}}]})["t"]


def stored(store, result):
    return {e.url: gzip.decompress(store.get(e.object_key)) for e in result.entries
            if e.status == mf.STORED}


# -- block pages in styles the default markers do not list ------------------------------------
WALLS = {
    "js-only challenge": b"<html><head><title>Security check</title><noscript>Enable "
                         b"JavaScript</noscript><script>setTimeout(function(){location.reload()}"
                         b",3000)</script></head><body><div id=spin></div></body></html>",
    "200 access denied": b"<html><body><p>Access denied. You have sent too many requests; try "
                         b"again later.</p></body></html>",
    "login wall": b"<html><title>Sign in</title><form action=/login><input name=user>"
                  b"<input type=password name=pw></form><p>Please sign in to continue</p>",
    "geo block": b"<html><h2>This content is not available in your country.</h2></html>",
    "consent wall": b"<html><div class=cmp><h2>We value your privacy</h2><button>Accept all"
                    b"</button></div><main style='display:none'></main></html>",
}


@pytest.mark.parametrize("name", sorted(WALLS))
def test_an_unlisted_wall_served_once_ends_stored_once_from_the_real_page(site, tmp_path, name):
    wall = WALLS[name]
    assert Taxonomy().classify(FetchOutcome(url="u", status=200, headers={}, body=wall,
                                            error=None, proxy_id=None)).ok  # no marker knows it
    paths = [f"/item/{i}" for i in range(3)]
    for p in paths:
        site.routes[p] = lambda n, w=wall: (200, [("Content-Type", "text/html")],
                                            w if n == 1 else REAL)
    store = LocalObjectStore(tmp_path)
    target = url_target([site.base + p for p in paths])
    first = crawl(store, target)
    assert stored(store, first) == {}  # the wall is never stored as data
    assert {e.failure_class for e in first.entries} == {"B"} and first.suspects == 3
    second = crawl(store, target, attempt=1)
    assert second.complete and set(stored(store, second).values()) == {REAL}
    assert second.confirmed_c == 0 and len(second.entries) == 3
    assert all(site.hits[p] == 2 for p in paths)  # exactly once more, none dropped


@pytest.mark.parametrize("name", sorted(WALLS))
def test_an_unlisted_wall_served_always_is_confirmed_c_never_dropped(site, tmp_path, name):
    site.routes["/item"] = html(WALLS[name])
    store = LocalObjectStore(tmp_path)
    target = url_target([site.base + "/item"])
    crawl(store, target)
    second = crawl(store, target, attempt=1)
    [entry] = second.entries
    assert (entry.status, entry.failure_class, second.confirmed_c) == (mf.STORED, "C", 1)


ORDINARY = {
    # Cloudflare injects its "JavaScript detections" script into every page of such a site
    "cloudflare jsd script": b"<title>Lamp | Shop</title><script>var a=document.createElement("
                             b"'script');a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';"
                             b"</script>",
    # Imperva injects its sensor script into ordinary pages; only the iframe wall is a block
    "imperva sensor script": b"<title>Lamp</title><script src='/_Incapsula_Resource?SWJIYLWA="
                             b"719d34d31c8e3a6e6fffd425f7e032f3'></script>",
    "a memoir": b"<title>One More Step: a memoir | Books</title>",
    "an article on robots": b"<title>Are you a robot? How CAPTCHAs work</title>",
    "a survey": b"<title>Human verification in online banking - a survey</title>",
    "poems": b"<title>Just a moment in time: poems</title>",
    "a history": b"<title>One more step - a history of stairs</title>",
    "a film": b"<title>Pardon Our Interruption (1998 film)</title>",
    "a series": b"<title>Access Denied | Series</title><h1>Access Denied</h1><p>Season 2</p>",
    "a song": b"<h1>Access Denied</h1><p>A song by the band; lyrics below</p>",
    "robots and cloudflare in text": b"<p>Our robot vacuum ships via Cloudflare-fast pages; "
                                     b"no captcha needed, access denied never</p>",
}


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_ordinary_pages_that_look_like_a_wall_are_good(name):
    outcome = FetchOutcome(url="u", status=200, headers={}, body=ORDINARY[name], error=None,
                           proxy_id=None)
    assert Taxonomy().classify(outcome).ok


def test_the_real_walls_those_fixes_keep_catching_are_still_b():
    walls = [b"<title>Just a moment...</title><script src='/cdn-cgi/challenge-platform/h/b/"
             b"orchestrate/chl_page/v1?ray=1'></script>",
             b"<title>Attention Required! | Cloudflare</title>",
             b"<iframe id='main-iframe' src='/_Incapsula_Resource?CWUDNSAI=23&xinfo=1'>",
             b"<TITLE>Access Denied</TITLE>",
             b"<title>One more step</title>", b"<title>Just a moment&hellip;</title>"]
    for body in walls:
        outcome = FetchOutcome(url="u", status=200, headers={}, body=body, error=None,
                               proxy_id=None)
        assert Taxonomy().classify(outcome).failure is B, body


# -- charsets: BOM > HTTP header > <meta> > detection, as a browser decodes ---------------------
TITLE_RULES = url_target(["http://127.0.0.1:1/x"], {"fields": {"title": {"css": "h1"}},
                                                     "required": ["title"]}).record
CHARSETS = {
    # name: (body, Content-Type, the title a browser shows, the encoding it uses)
    "cp1252 under a lying meta, right header": (
        '<meta charset="utf-8"><h1>\u201cCaf\u00e9\u201d</h1>'.encode("cp1252"),
        "text/html; charset=windows-1252", "\u201cCaf\u00e9\u201d", "cp1252"),
    "utf-8 BOM under a lying header": (
        b"\xef\xbb\xbf" + "<h1>Caf\u00e9 \u201c</h1>".encode(), "text/html; charset=iso-8859-1",
        "Caf\u00e9 \u201c", "utf-8"),
    "GB18030": ("<h1>\u4f60\u597d\u4e16\u754c</h1>".encode("gb18030"),
                "text/html; charset=GB18030", "\u4f60\u597d\u4e16\u754c", "gb18030"),
    "EUC-KR": ("<h1>\uc548\ub155\ud558\uc138\uc694</h1>".encode("euc-kr"),
               "text/html; charset=EUC-KR", "\uc548\ub155\ud558\uc138\uc694", "cp949"),
    "quoted with spaces": ("<h1>Caf\u00e9</h1>".encode(), 'text/html; charset = "UTF-8"',
                           "Caf\u00e9", "utf-8"),
    "unknown charset name, UTF-8 bytes": ("<h1>Caf\u00e9</h1>".encode(),
                                          "text/html; charset=x-foo", "Caf\u00e9", "utf-8"),
    "unknown charset name, cp1252 bytes": ("<h1>Caf\u00e9</h1>".encode("cp1252"),
                                           "text/html; charset=x-foo", "Caf\u00e9", "cp1252"),
    # WHATWG: the label "utf-16" is UTF-16LE (w3lib alone read it big-endian: mojibake)
    "UTF-16 without BOM, declared in the header": (
        "<h1>Caf\u00e9</h1>".encode("utf-16-le"), "text/html; charset=UTF-16", "Caf\u00e9",
        "utf-16-le"),
    # WHATWG: a <meta> naming UTF-16 means UTF-8 (w3lib alone decoded ASCII as UTF-16)
    "meta says UTF-16 over UTF-8 bytes": (
        '<meta charset="utf-16"><h1>Caf\u00e9</h1>'.encode(), "text/html", "Caf\u00e9", "utf-8"),
}


@pytest.mark.parametrize("name", sorted(CHARSETS))
def test_a_page_is_decoded_as_a_browser_would_through_the_fetcher(site, name):
    body, ctype, title, encoding = CHARSETS[name]
    site.routes["/p"] = html(body, ctype)
    fetcher = HttpFetcher(FetchSettings(timeout_seconds=5))
    try:
        outcome = fetcher.fetch(site.base + "/p")
    finally:
        fetcher.close()
    ex = extract_record(outcome.body, TITLE_RULES, outcome.effective_url,
                        outcome.header("content-type"))
    assert (ex.values["title"], ex.encoding) == (title, encoding)
    assert decode_html(outcome.body, outcome.header("content-type"))[0] == encoding


# -- redirects ----------------------------------------------------------------------------------
def redirect(location: str, status: int = 302) -> Callable[[int], Reply]:
    return lambda n: (status, [("Location", location)], b"")


def fetch(site, path, **settings):
    fetcher = HttpFetcher(FetchSettings(timeout_seconds=5, **settings))
    try:
        return fetcher.fetch(site.base + path)
    finally:
        fetcher.close()


def test_relative_query_only_and_308_redirects_end_on_the_right_page(site):
    site.routes["/a/b"] = redirect("../c", 308)
    site.routes["/c"] = redirect("?page=2", 301)
    site.routes["/c?page=2"] = redirect("d", 307)
    site.routes["/d"] = html(REAL)
    outcome = fetch(site, "/a/b")
    assert outcome.status == 200 and outcome.effective_url == site.base + "/d"
    assert [u.removeprefix(site.base) for u in outcome.redirects] == ["/a/b", "/c", "/c?page=2"]


def test_a_chain_of_max_redirects_is_followed_and_one_more_is_a_loop(site):
    for i in range(6):
        site.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
    site.routes["/r5"] = html(REAL)
    assert fetch(site, "/r0", max_redirects=5).effective_url == site.base + "/r5"
    looped = fetch(site, "/r0", max_redirects=4)
    assert looped.error is ErrorKind.REDIRECT_LOOP


def test_a_trailing_slash_redirect_and_a_two_url_loop(site):
    site.routes["/docs"] = redirect("/docs/", 301)
    site.routes["/docs/"] = html(REAL)
    assert fetch(site, "/docs").effective_url == site.base + "/docs/"
    site.routes["/x"] = redirect("/y")
    site.routes["/y"] = redirect("/x")
    outcome = fetch(site, "/x")
    assert outcome.error is ErrorKind.REDIRECT_LOOP
    assert Taxonomy().classify(outcome).failure.value == "D"


def test_a_listing_behind_a_redirect_resolves_links_from_the_final_url_and_base_href(
        site, tmp_path):
    site.routes["/shop"] = redirect("/shop/2025/", 301)
    listing = (b"<html><head><base href='items/'></head><body>"
               b"<a class=l href='lamp'>1</a><a class=l href='../other/chair'>2</a>"
               b"<a class=l href='//evil.example/steal'>offsite</a>"
               b"<a class=l href='//127.0.0.1:1/other-port'>other port</a></body></html>")
    site.routes["/shop/2025/"] = html(listing)
    site.routes["/shop/2025/items/lamp"] = html(REAL)
    site.routes["/shop/2025/other/chair"] = html(REAL)
    store = LocalObjectStore(tmp_path)
    target = parse_targets({"targets": [{
        "name": "t", "listing": {"start_url": site.base + "/shop", "link": {"css": "a.l",
                                                                            "attr": "href"}},
        "record": RECORD, "politeness": {"obey_robots": False}}]})["t"]
    result = crawl(store, target)
    assert result.complete
    assert sorted(e.url.removeprefix(site.base) for e in result.entries) == [
        "/shop/2025/items/lamp", "/shop/2025/other/chair"]
    assert set(stored(store, result).values()) == {REAL}
    assert not [p for p in site.hits if "steal" in p or "other-port" in p]
    assert result.outcomes["offsite_links"] == 2  # the other host and the other port


def listing_target(site, start="/list"):
    return parse_targets({"targets": [{
        "name": "t", "listing": {"start_url": site.base + start,
                                 "link": {"css": "a.l", "attr": "href"}},
        "record": RECORD, "politeness": {"obey_robots": False}}]})["t"]


def test_a_listing_whose_every_link_is_offsite_is_loud_never_an_empty_green(site, tmp_path):
    site.routes["/list"] = html(b"<a class=l href='http://evil.example/1'>1</a>"
                                b"<a class=l href='//169.254.169.254/latest'>2</a>")
    store = LocalObjectStore(tmp_path)
    target = listing_target(site)
    crawl(store, target)
    second = crawl(store, target, attempt=1)
    assert second.listing_dead is not None  # confirmed C: no link it may follow, twice
    assert second.outcomes["offsite_links"] == 2
    assert list(site.hits) == ["/list"]


def test_listing_links_to_an_allowed_origin_on_another_host_are_fetched(site, tmp_path):
    other = site.base.replace("127.0.0.1", "localhost")  # same server, another host name
    site.routes["/list"] = html(f"<a class=l href='{other}/item'>1</a>".encode())
    site.routes["/item"] = html(REAL)
    store = LocalObjectStore(tmp_path)
    target = parse_targets({"targets": [{
        "name": "t", "listing": {"start_url": site.base + "/list",
                                 "link": {"css": "a.l", "attr": "href"}},
        "allowed_origins": [other], "record": RECORD,
        "politeness": {"obey_robots": False}}]})["t"]
    result = crawl(store, target)
    assert [(e.url, e.status) for e in result.entries] == [(other + "/item", mf.STORED)]


# -- targets.yaml cases beyond docs/bad-input.md ------------------------------------------------
GOOD_YAML = """targets:
  - name: shop
    urls: ["http://127.0.0.1:8787/x/{date}"]
    record: {fields: {sku: {css: span.sku}}, required: [sku]}
"""


def _load_error(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "targets.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(TargetConfigError) as caught:
        load_targets(path)
    return str(caught.value)


@pytest.mark.parametrize(("typo", "where"), [
    ("{data}", "urls[0]"), ("{Date}", "urls[0]"), ("{ date }", "urls[0]")])
def test_a_placeholder_typo_is_refused_not_fetched_literally_every_day(tmp_path, typo, where):
    message = _load_error(tmp_path, GOOD_YAML.replace("{date}", typo))
    assert f"'shop'.{where}" in message and typo in message and "{date}" in message


def test_a_placeholder_typo_in_a_listing_start_url_is_refused(tmp_path):
    text = GOOD_YAML.replace('urls: ["http://127.0.0.1:8787/x/{date}"]',
                             'listing: {start_url: "http://h.test/${FLEET_Q:-c}/{data}", '
                             'link: {css: a}}')
    message = _load_error(tmp_path, text)
    assert "listing.start_url" in message and "{data}" in message and "FLEET_Q" not in message


def test_env_defaults_and_date_are_not_placeholder_typos(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD_YAML.replace("http://127.0.0.1:8787", "${FLEET_Q_HOST:-http://h.test}"))
    assert load_targets(path)["shop"].urls_for(DATE) == [f"http://h.test/x/{DATE}"]


def test_a_nul_byte_and_tabs_are_named_errors_not_tracebacks(tmp_path):
    assert "control character" in _load_error(tmp_path, GOOD_YAML.replace("shop", "sh\0op"))
    assert "indent with spaces" in _load_error(tmp_path, GOOD_YAML.replace("  - name", "\t- name"))


# -- robots.txt as real sites write it ------------------------------------------------------------
def test_robots_rules_with_raw_utf8_or_encoded_letters_match_the_request_path(site, tmp_path):
    site.routes["/robots.txt"] = html("User-agent: *\nDisallow: /caf\u00e9\nDisallow: /priv%61te\n"
                                      .encode(), "text/plain")
    paths = ["/caf%C3%A9/1", "/private/2", "/open/3"]
    for p in paths:
        site.routes[p] = html(REAL)
    target = parse_targets({"targets": [{"name": "t", "urls": [site.base + p for p in paths],
                                         "record": RECORD}]})["t"]
    result = crawl(LocalObjectStore(tmp_path), target)
    status = {e.url.removeprefix(site.base): e.status for e in result.entries}
    assert status == {"/caf%C3%A9/1": mf.DISALLOWED, "/private/2": mf.DISALLOWED,
                      "/open/3": mf.STORED}
    assert site.hits["/caf%C3%A9/1"] == site.hits["/private/2"] == 0


# -- URLs as servers and pages write them ---------------------------------------------------------
def test_a_location_in_raw_utf8_is_followed_as_a_browser_would(site):
    # http.client reads header bytes as Latin-1; the server wrote UTF-8 "/café/x"
    site.routes["/u"] = redirect("/caf\u00e9/x".encode().decode("latin-1"))
    site.routes["/caf%C3%A9/x"] = html(REAL)
    outcome = fetch(site, "/u")
    assert (outcome.status, outcome.effective_url) == (200, site.base + "/caf%C3%A9/x")
    assert not [p for p in site.hits if "%C3%83" in p]  # never the mojibake /cafÃ©


def test_a_location_or_a_link_with_a_space_is_sent_as_percent_20(site, tmp_path):
    site.routes["/sp"] = redirect("/a b")
    site.routes["/a%20b"] = html(REAL)
    assert fetch(site, "/sp").effective_url == site.base + "/a%20b"  # was redirect_refused (D)
    site.routes["/list"] = html(b"<a class=l href='/item/red lamp'>1</a>"
                                b"<a class=l href='/item/blue\n lamp'>2</a>")
    site.routes["/item/red%20lamp"] = html(REAL)
    site.routes["/item/blue%20lamp"] = html(REAL)
    result = crawl(LocalObjectStore(tmp_path), listing_target(site))
    assert sorted((e.url.removeprefix(site.base), e.status) for e in result.entries) == [
        ("/item/blue%20lamp", mf.STORED), ("/item/red%20lamp", mf.STORED)]  # were invalid_url D


@pytest.mark.parametrize("url", ["http://h.test/a b/{date}", "http://h.test/a\\b",
                                 "http://h.test:99999/x", "http://h.test/x\t"])
def test_a_target_url_the_fetcher_cannot_send_is_refused_at_load_never_a_tombstone(url):
    with pytest.raises(TargetConfigError) as caught:
        url_target([url])
    assert "'t'.urls[0]" in str(caught.value) and "fix the URL" in str(caught.value)


@pytest.mark.parametrize("name", ["js-only challenge", "consent wall"])
def test_an_unlisted_wall_on_the_listing_page_once_loses_no_item(site, tmp_path, name):
    listing = b"".join(b"<a class=l href='/item/%d'>x</a>" % i for i in range(3))
    site.routes["/list"] = lambda n, w=WALLS[name]: (200, [("Content-Type", "text/html")],
                                                     w if n == 1 else listing)
    for i in range(3):
        site.routes[f"/item/{i}"] = html(REAL)
    store = LocalObjectStore(tmp_path)
    target = listing_target(site)
    first = crawl(store, target)
    assert first.entries == () and first.listing_dead is None  # waits, never "dead"
    second = crawl(store, target, attempt=1)
    assert second.complete and len(stored(store, second)) == 3
    assert all(site.hits[f"/item/{i}"] == 1 for i in range(3))
    assert not [k for k in store.list("raw/") if k.endswith(".html.gz") and
                WALLS[name] in gzip.decompress(store.get(k))]


def test_a_redirect_refused_by_our_origin_policy_is_gone_for_that_day_only(site, tmp_path):
    # http -> https upgrades and moves to a CDN host are common: the fix is allowed_origins,
    # and it must take effect the next day (a tombstone would skip the URL for good).
    other = site.base.replace("127.0.0.1", "localhost")
    site.routes["/moved"] = redirect(other + "/item")
    site.routes["/item"] = html(REAL)
    store = LocalObjectStore(tmp_path)
    doc = {"name": "t", "urls": [site.base + "/moved"], "record": RECORD,
           "politeness": {"obey_robots": False}}
    first = crawl(store, parse_targets({"targets": [doc]})["t"])
    assert [(e.status, e.failure_class) for e in first.entries] == [(mf.GONE, "D")]
    assert site.hits["/item"] == 0  # refused, never followed
    fixed = parse_targets({"targets": [{**doc, "allowed_origins": [other]}]})["t"]
    second = crawl(store, fixed, date="2025-06-11")
    assert [e.status for e in second.entries] == [mf.STORED]  # was skipped as tombstoned
    assert site.hits["/item"] == 1


def test_a_utf16_listing_declared_only_in_the_header_yields_its_links(site, tmp_path):
    listing = "".join(f"<a class=l href='/item/{i}'>x</a>" for i in range(3))
    site.routes["/list"] = html(listing.encode("utf-16-le"), "text/html; charset=UTF-16")
    for i in range(3):
        site.routes[f"/item/{i}"] = html(REAL)
    result = crawl(LocalObjectStore(tmp_path), listing_target(site))
    assert result.complete and len(result.entries) == 3  # was read big-endian: no link at all


def test_a_page_moved_by_an_instant_meta_refresh_is_stored_from_its_new_place(site, tmp_path):
    site.routes["/old"] = html(b'<html><head><meta http-equiv="refresh" content="0; url=/new">'
                               b"</head><body>Moved</body></html>")
    site.routes["/new"] = html(REAL)
    site.routes["/self"] = html(REAL.replace(b"<head>", b'<head><meta http-equiv="refresh" '
                                             b'content="0; url=/self">'))
    store = LocalObjectStore(tmp_path)
    result = crawl(store, url_target([site.base + "/old", site.base + "/self"]))
    assert result.complete and result.suspects == 0  # was a suspect, then confirmed C
    assert set(stored(store, result).values()) == {REAL, site.routes["/self"](1)[2]}
    assert site.hits["/self"] == 1  # a page refreshing itself is the page, not a loop
