"""Hostile input, end to end: each case ends in a named error or the right class, and nothing
already stored is lost.

A small ``http.server`` on loopback (port 0) serves the hostile responses; they go through
the one fetcher (``HttpFetcher`` on urllib3), the taxonomy, extraction and
``PartitionCrawler`` into a store that already holds earlier pages, which must stay
byte-identical.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import tracemalloc
import zlib
from pathlib import Path

import pytest
from budget import cpu_budget

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.crawl.retry import policies_from
from fleet_assets.lib.extract import extract_links, extract_record
from fleet_assets.lib.failures import ConfigError, ErrorKind, FailureClass
from fleet_assets.lib.http.fetcher import FetchSettings, HttpFetcher
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import TargetConfigError, load_targets, parse_targets
from fleet_assets.lib.taxonomy import Taxonomy

CAP = 200_000
SECRET = "s3cr3t-value-42"
DATE = "2025-06-10"
PRODUCT = (b'<html><head><title>p</title></head><body><h1 class="title">Copper Kettle</h1>'
           b'<span class="sku">SKU-1</span><span class="price">$12.50</span></body></html>')


def _bomb(size: int = 60_000_000) -> bytes:
    """gzip of ``size`` zero bytes (~60 KB on the wire), built without holding them in memory."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * 1_000_000
    return b"".join([*(z.compress(zeros) for _ in range(size // len(zeros))), z.flush()])


BOMB = _bomb()
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b']><html><body><h1 class="title">&lol9;</h1><span class="sku">S</span>'
          b'<span class="price">1</span></body></html>')


class Hostile(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's name
        port = self.server.server_address[1]
        p = self.path
        routes = {
            "/product": lambda: self._send(200, PRODUCT, [("Content-Type", "text/html")]),
            "/malformed": lambda: self._send(200, b'<html><body><h1 class="title">Half <b>open'
                                                  b'<span class="sku">SKU-9<span class="price">3.50'
                                                  b'</div></td><p><<<>>'),
            "/empty": lambda: self._send(200, b""),
            "/truncated": self._truncated,
            "/cp1252": lambda: self._send(200, "<h1 class='title'>Crème brûlée</h1>"
                                          "<span class='sku'>S</span><span class='price'>2</span>"
                                          .encode("cp1252")),
            "/wrong-charset": lambda: self._send(
                200, b'<meta charset="utf-8"><h1 class="title">Se\xf1or</h1>'
                     b'<span class="sku">S</span><span class="price">2</span>'),
            "/unknown-charset": lambda: self._send(
                200, b'<meta charset="x-klingon"><h1 class="title">Plain</h1>'
                     b'<span class="sku">S</span><span class="price">2</span>'),
            "/big": lambda: self._send(200, b"<p>" + b"x" * (CAP + 10)),
            "/big-chunked": self._big_chunked,
            "/bomb": lambda: self._send(200, BOMB, [("Content-Encoding", "gzip"),
                                                    ("Content-Type", "text/html")]),
            "/laughs": lambda: self._send(200, LAUGHS),
            "/loop": lambda: self._send(302, headers=[("Location", "/loop")]),
            "/ping": lambda: self._send(301, headers=[("Location", "/pong")]),
            "/pong": lambda: self._send(301, headers=[("Location", "/ping")]),
            "/chain": lambda: self._send(302, headers=[("Location", f"/chain{p[6:] or 0}0")]),
            "/other-host": lambda: self._send(302, headers=[("Location", "http://example.invalid/x")]),
            "/metadata": lambda: self._send(
                302, headers=[("Location", "http://169.254.169.254/latest/meta-data/")]),
            "/localhost": lambda: self._send(302, headers=[("Location", f"http://localhost:{port}/product")]),
            "/file": lambda: self._send(302, headers=[("Location", "file:///etc/passwd")]),
            "/same-host": lambda: self._send(302, headers=[("Location", "/product")]),
            "/gone": lambda: self._send(404, b"<h1>gone</h1>"),
        }
        if p.startswith("/keyed"):  # a site that wants ?api_key=<SECRET>, and echoes it
            if "api_key=" + SECRET not in p:
                return self._send(403, b"no key")
            if p.startswith("/keyed-redirect"):
                return self._send(302, headers=[("Location", p.replace("-redirect", ""))])
            return self._send(200, PRODUCT, [("Content-Type", "text/html"), ("X-Echo", p)])
        handler = routes.get(p) or (routes["/chain"] if p.startswith("/chain") else None)
        if handler is None:
            self._send(404, b"no")
        else:
            handler()

    def _truncated(self):
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(PRODUCT[:60])
        self.wfile.flush()
        self.close_connection = True

    def _big_chunked(self):
        self.protocol_version = "HTTP/1.1"
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"y" * 65536
        for _ in range(CAP // len(chunk) + 3):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hang up on bombs and oversized bodies on purpose


@pytest.fixture(scope="module")
def hostile():
    server = _Server(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fetcher():
    f = HttpFetcher(FetchSettings(timeout_seconds=5, max_body_bytes=CAP))
    yield f
    f.close()


RULES = parse_targets({"targets": [{
    "name": "t", "urls": ["http://127.0.0.1:1/x"],
    "record": {"fields": {"title": {"css": "h1.title"}, "sku": {"css": "span.sku"},
                          "price": {"css": "span.price", "type": "float"}},
               "required": ["title", "sku", "price"]},
}]})["t"].record


def classify(outcome):
    return Taxonomy().classify(outcome).failure


# -- transport: each response gets the right class --------------------------------------------
@pytest.mark.parametrize("path, error, failure", [
    ("/truncated", ErrorKind.TRUNCATED_BODY, FailureClass.TRANSIENT),
    ("/big", ErrorKind.TOO_LARGE, FailureClass.HARD),
    ("/big-chunked", ErrorKind.TOO_LARGE, FailureClass.HARD),
    ("/bomb", ErrorKind.TOO_LARGE, FailureClass.HARD),
    ("/loop", ErrorKind.REDIRECT_LOOP, FailureClass.HARD),
    ("/ping", ErrorKind.REDIRECT_LOOP, FailureClass.HARD),
    ("/chain", ErrorKind.REDIRECT_LOOP, FailureClass.HARD),
    ("/other-host", ErrorKind.OFFSITE, FailureClass.HARD),
    ("/metadata", ErrorKind.OFFSITE, FailureClass.HARD),
    ("/localhost", ErrorKind.OFFSITE, FailureClass.HARD),
    ("/file", ErrorKind.REDIRECT_REFUSED, FailureClass.HARD),
])
def test_hostile_response_ends_in_a_named_error_and_class(hostile, fetcher, path, error, failure):
    with cpu_budget(10):  # a loop or bomb would spin; waiting on the 5 s timeout costs no CPU
        outcome = fetcher.fetch(hostile + path)
    assert outcome.error is error
    assert outcome.body is None
    assert classify(outcome) is failure


def test_gzip_bomb_stops_at_the_cap_without_inflating_it(hostile, fetcher):
    tracemalloc.start()
    try:
        assert fetcher.fetch(hostile + "/bomb").error is ErrorKind.TOO_LARGE
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * CAP  # the 60 MB never exist at once, only about the cap


def test_same_host_redirect_is_followed(hostile, fetcher):
    outcome = fetcher.fetch(hostile + "/same-host")
    assert outcome.status == 200 and outcome.body == PRODUCT and classify(outcome) is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/x", "ftp://127.0.0.1/x", "http:///nohost",
                                 "not a url"])
def test_invalid_url_is_class_d_not_an_exception(fetcher, url):
    outcome = fetcher.fetch(url)
    assert outcome.error is ErrorKind.INVALID_URL
    assert classify(outcome) is FailureClass.HARD


def test_empty_body_is_fetched_but_is_semantic_drift(hostile, fetcher):
    outcome = fetcher.fetch(hostile + "/empty")
    assert outcome.status == 200 and outcome.body == b""
    ex = extract_record(outcome.body, RULES)
    assert ex.missing_required == ("title", "sku", "price")
    assert not ex.complete  # class C: the records step keeps it out of the table


# -- extraction ---------------------------------------------------------------------------------
def test_malformed_html_is_recovered(hostile, fetcher):
    ex = extract_record(fetcher.fetch(hostile + "/malformed").body, RULES)
    assert ex.values["sku"].startswith("SKU-9") and ex.values["price"] == 3.5
    assert ex.values["title"].startswith("Half")


@pytest.mark.parametrize("path, title", [
    ("/cp1252", "Crème brûlée"),       # no charset declared, not UTF-8
    ("/wrong-charset", "Señor"),       # declares UTF-8, is Latin-1
    ("/unknown-charset", "Plain"),     # declares a charset that does not exist
])
def test_charsets_are_decoded_by_what_the_bytes_are(hostile, fetcher, path, title):
    ex = extract_record(fetcher.fetch(hostile + path).body, RULES)
    assert ex.values["title"] == title and ex.complete


def test_utf16_with_bom_is_decoded():
    body = '<h1 class="title">Ünïcode</h1><span class="sku">S</span><span class="price">1</span>'
    assert extract_record(body.encode("utf-16"), RULES).values["title"] == "Ünïcode"


def test_entity_expansion_is_not_performed(hostile, fetcher):
    with cpu_budget(2):
        ex = extract_record(fetcher.fetch(hostile + "/laughs").body, RULES)
    assert len(ex.values["title"] or "") < 1000  # 10^9 "lol"s were never built
    assert ex.values["sku"] == "S"


@pytest.mark.parametrize("body", [b"\0\0\0\0", b"\xff\xfe\xfa", b"   \n\t ", b"<", b"<!-- x"])
def test_garbage_bytes_give_missing_fields_not_exceptions(body):
    ex = extract_record(body, RULES)
    assert not ex.complete


def test_listing_keeps_only_absolute_http_links_to_its_own_host():
    sel = parse_targets({"targets": [{
        "name": "t", "listing": {"start_url": "http://h.test/l", "link": {"css": "a", "attr": "href"}},
        "record": {"fields": {"a": {"css": "a"}}, "required": ["a"]}}]})["t"].listing.link
    body = b"".join(b'<a href="%s">x</a>' % h for h in [
        b"/p/1", b"p/2", b"javascript:alert(1)", b"mailto:a@b.c", b"http://[::1", b"data:text/html,x",
        b"//other.test/3", b"ftp://h.test/4", b"#frag", b"", b"http://h.test/p/1#again", b"  /p/5  ",
        b"http://169.254.169.254/latest/meta-data/", b"http://localhost/admin"])
    links = extract_links(body, sel, "http://h.test/l")
    assert links == ["http://h.test/p/1", "http://h.test/p/2", "http://h.test/p/5"]
    assert "http://other.test/3" in extract_links(body, sel, "http://h.test/l",
                                                  hosts=["h.test", "other.test"])


def test_a_listing_with_a_huge_number_of_links_is_capped():
    sel = parse_targets({"targets": [{
        "name": "t", "listing": {"start_url": "http://h.test/l", "link": {"css": "a", "attr": "href"}},
        "record": {"fields": {"a": {"css": "a"}}, "required": ["a"]}}]})["t"].listing.link
    body = b"".join(b'<a href="/p/%d">x</a>' % i for i in range(150_000))
    with cpu_budget(20):
        links = extract_links(body, sel, "http://h.test/l", limit=100_000)
    assert len(links) == 100_000 and links[0] == "http://h.test/p/0"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_crawler_classifies_hostile_pages_and_keeps_what_was_stored(hostile, tmp_path):
    store = LocalObjectStore(tmp_path)
    # Yesterday's partition and today's already-stored product page exist before the crawl.
    store.put("raw/t/2025-06-09/_manifest.jsonl", b'{"url": "x"}\n')
    store.put("tables/records/t/2025-06-09.parquet", b"PAR1 earlier")
    kept_url = hostile + "/product"
    kept_key = keys.raw_page_key("t", DATE, keys.natural_key(kept_url, DATE))
    store.put_if_absent(kept_key, gzip.compress(b"earlier bytes", mtime=0))
    before = _snapshot(tmp_path)
    paths = ["/product", "/truncated", "/big", "/bomb", "/loop", "/metadata", "/gone", "/empty",
             "/malformed"]
    target = parse_targets({"targets": [{
        "name": "t", "urls": [hostile + p for p in paths], "max_body_bytes": CAP,
        "politeness": {"obey_robots": False, "max_concurrency": 4},
        "record": {"fields": {"title": {"css": "h1.title"}}, "required": ["title"]}}]})["t"]
    for _run in range(2):
        crawler = PartitionCrawler(target, DATE, store, HttpFetcher(FetchSettings(max_body_bytes=CAP)),
                                   Taxonomy(), policies_from({}))
        result = crawler.run()
        by_path = {e.url.removeprefix(hostile): e for e in result.entries}
        assert by_path["/product"].status == mf.STORED  # reused, never re-fetched or rewritten
        assert by_path["/truncated"].status == mf.PENDING and by_path["/truncated"].failure_class == "A"
        for gone in ("/big", "/bomb", "/loop", "/metadata", "/gone"):
            assert by_path[gone].status == mf.GONE and by_path[gone].failure_class == "D", gone
            assert store.exists(by_path[gone].object_key)
        assert by_path["/malformed"].status == mf.STORED
        # An empty 200 yields no required field: a suspect asked again (pending B) on the
        # first crawl, confirmed C and stored on the second.
        empty = by_path["/empty"]
        assert empty.suspect and (empty.status, empty.failure_class) == (
            (mf.PENDING, "B") if _run == 0 else (mf.STORED, "C"))
    after = _snapshot(tmp_path)
    assert {k: after[k] for k in before} == before
    assert not [k for k in after if "/.tmp-" in k or k.startswith(".tmp-")]


def test_a_secret_in_a_target_url_is_sent_but_never_stored(hostile, tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_T_API_KEY", SECRET)
    store = LocalObjectStore(tmp_path)
    target = parse_targets({"targets": [{
        "name": "t", "politeness": {"obey_robots": False},
        "urls": [hostile + "/keyed-redirect?api_key=${FLEET_T_API_KEY}",
                 hostile + "/keyed?n=2&api_key=${FLEET_T_API_KEY}"],
        "record": {"fields": {"title": {"css": "h1.title"}}, "required": ["title"]}}]})["t"]
    assert all("${FLEET_T_API_KEY}" in u for u in target.urls_for(DATE))
    crawler = PartitionCrawler(target, DATE, store, HttpFetcher(FetchSettings(max_body_bytes=CAP)),
                               Taxonomy(), policies_from({}))
    result = crawler.run()
    assert [e.status for e in result.entries] == [mf.STORED, mf.STORED]  # the key was sent
    assert all(e.url.endswith("api_key=${FLEET_T_API_KEY}") for e in result.entries)
    assert all(e.natural_key == keys.natural_key(e.url, DATE) for e in result.entries)
    files = _snapshot(tmp_path)
    assert files and not [k for k, v in files.items() if SECRET.encode() in v or SECRET in k]


def test_a_corrupt_page_left_by_a_dead_attempt_is_quarantined_and_fetched_again(hostile,
                                                                             tmp_path):
    store = LocalObjectStore(tmp_path)
    url = hostile + "/product"
    key = keys.raw_page_key("t", DATE, keys.natural_key(url, DATE))
    good = gzip.compress(PRODUCT, mtime=0)
    flipped = good[:30] + bytes([good[30] ^ 0x04]) + good[31:]
    store.put_if_absent(key, flipped)  # no manifest yet: an attempt died after writing it
    target = parse_targets({"targets": [{
        "name": "t", "urls": [url], "politeness": {"obey_robots": False},
        "record": {"fields": {"title": {"css": "h1.title"}}, "required": ["title"]}}]})["t"]
    result = PartitionCrawler(target, DATE, store, HttpFetcher(FetchSettings(max_body_bytes=CAP)),
                              Taxonomy(), policies_from({})).run()
    assert [e.status for e in result.entries] == [mf.STORED]
    assert gzip.decompress(store.get(key)) == PRODUCT  # fetched again, not rebuilt from junk
    kept = [k for k in store.list("quarantine/") if not k.endswith(".why.json")]
    assert [store.get(k) for k in kept] == [flipped]


# -- targets.yaml -------------------------------------------------------------------------------
def _doc(**target):
    base = {"name": "shop", "urls": ["http://127.0.0.1:1/x"],
            "record": {"fields": {"sku": {"css": "span.sku"}}, "required": ["sku"]}}
    base.update(target)
    return {"targets": [base]}


@pytest.mark.parametrize("doc, words", [
    (_doc(colour="red"), ["unknown key", "colour", "shop"]),
    ({"targets": [_doc()["targets"][0], _doc()["targets"][0]]}, ["defined twice", "shop"]),
    (_doc(name="../etc"), ["targets[0].name"]),
    (_doc(name="shop/../../root"), ["targets[0].name"]),
    (_doc(name="Shop Name"), ["targets[0].name"]),
    (_doc(record={"fields": {"sku": {"xpath": "//div["}}, "required": ["sku"]}),
     ["invalid XPath", "record.fields.sku"]),
    (_doc(record={"fields": {"sku": {"css": "span..sku"}}, "required": ["sku"]}),
     ["invalid CSS", "record.fields.sku"]),
    (_doc(urls=["http://${FLEET_TEST_UNSET_HOST}/x"]), ["FLEET_TEST_UNSET_HOST", "is not set"]),
    (_doc(proxies=["http://alice:s3cret@proxy.test:8080"]), ["${ENV_VAR}"]),
    (_doc(urls=["ftp://127.0.0.1/x"]), ["not an absolute http(s) URL"]),
    ({"targets": "shop"}, ["non-empty list"]),
    ({"targets": [_doc()["targets"][0]], "extra": 1}, ["unknown key", "extra"]),
])
def test_bad_targets_file_names_the_problem(doc, words):
    with pytest.raises(TargetConfigError) as err:
        parse_targets(doc)
    for w in words:
        assert w in str(err.value)


def test_invalid_yaml_and_missing_file_name_the_path(tmp_path):
    bad = tmp_path / "targets.yaml"
    bad.write_text("targets: [ {name: shop\n")
    with pytest.raises(TargetConfigError, match="not valid YAML"):
        load_targets(bad)
    with pytest.raises(TargetConfigError, match="FLEET_TARGETS"):
        load_targets(tmp_path / "absent.yaml")


def test_missing_proxy_credentials_variable_is_named_and_not_leaked(monkeypatch):
    monkeypatch.delenv("FLEET_TEST_PROXY_PASS", raising=False)
    with pytest.raises(ConfigError) as err:
        Proxy.from_config("http://${FLEET_TEST_PROXY_USER}:${FLEET_TEST_PROXY_PASS}@proxy.test:8080",
                          {"FLEET_TEST_PROXY_USER": "alice"})
    assert "FLEET_TEST_PROXY_PASS" in str(err.value)
    assert "alice" not in str(err.value)
