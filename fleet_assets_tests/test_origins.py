"""Origins: scheme, host and port; one parser (the transport's); tricks refused; addresses checked
after resolution."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
from fleet_assets.lib.failures import ErrorKind
from fleet_assets.lib.http.fetcher import HttpFetcher
from fleet_assets.lib.http.mock import MockTransport, Scripted
from fleet_assets.lib.http.origins import BadURL, Offsite, Origin, OriginPolicy, parse, target_policy
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import parse_targets
from fleet_assets.lib.taxonomy import Taxonomy


def test_an_origin_has_an_explicit_port():
    assert parse("HTTP://Shop.Example/x").origin == Origin("http", "shop.example", 80)
    assert parse("https://shop.example:8443/x").origin == Origin("https", "shop.example", 8443)
    assert parse("http://[::1]:8080/").origin == Origin("http", "::1", 8080)


@pytest.mark.parametrize("url", [
    "http://127.0.0.2:81\\@127.0.0.1:82/x",   # urlsplit sees 127.0.0.1, urllib3 connects to .2
    "http://user@127.0.0.1/x", "http://127.0.0.1:80@evil.test/x", "http://a b/x",
    "ftp://127.0.0.1/x", "javascript:alert(1)", "http:///x", "http://127.0.0.1:99999/x", "",
])
def test_tricks_and_non_http_urls_are_refused(url):
    with pytest.raises(BadURL):
        parse(url)


def test_another_port_or_scheme_is_offsite_and_allowed_origins_extend_the_set():
    policy = OriginPolicy.of(["http://127.0.0.1:8787/shop/{date}/catalog"],
                             allowed=["https://cdn.example"])
    assert policy.allows("http://127.0.0.1:8787/shop/x")
    assert policy.allows("https://cdn.example:443/img.png")
    for url in ("http://127.0.0.1:8788/shop/x", "https://127.0.0.1:8787/x", "http://localhost:8787/x",
                "http://cdn.example/img.png"):
        assert not policy.allows(url)
        with pytest.raises(Offsite):
            policy.check(url)


def test_a_targets_policy_comes_from_its_start_urls_and_allowed_origins():
    target = parse_targets({"targets": [{
        "name": "t",
        "listing": {"start_url": "http://127.0.0.1:8787/l", "link": {"css": "a", "attr": "href"}},
        "allowed_origins": ["http://127.0.0.1:9000/"],
        "record": {"fields": {"a": {"css": "a"}}, "required": ["a"]}}]})["t"]
    assert target.allowed_origins == ("http://127.0.0.1:9000",)
    assert target_policy(target).origins == {Origin("http", "127.0.0.1", 8787),
                                             Origin("http", "127.0.0.1", 9000)}


@pytest.mark.parametrize("bad", ["http://h.test/path", "ftp://h.test", "http://u@h.test"])
def test_an_allowed_origin_with_a_path_or_trick_is_refused_at_load(bad):
    from fleet_assets.lib.targets import TargetConfigError

    with pytest.raises(TargetConfigError, match="allowed_origins"):
        parse_targets({"targets": [{"name": "t", "urls": ["http://h.test/x"], "allowed_origins": [bad],
                                    "record": {"fields": {"a": {"css": "a"}}, "required": ["a"]}}]})


def test_private_addresses_are_refused_unless_the_origin_names_them():
    policy = OriginPolicy.of(["http://127.0.0.1:8787/", "http://shop.example/"])
    assert policy.peer_allowed(Origin("http", "127.0.0.1", 8787), "127.0.0.1")
    for address in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "0.0.0.0", "::ffff:10.0.0.1"):
        assert not policy.peer_allowed(Origin("http", "shop.example", 80), address)
    assert policy.peer_allowed(Origin("http", "shop.example", 80), "93.184.216.34")


def test_a_name_resolving_to_loopback_is_refused_after_resolution():
    name = socket.gethostname()
    try:
        resolved = socket.gethostbyname(name)
    except OSError:
        pytest.skip("the host name does not resolve here")
    if name == "localhost" or not resolved.startswith("127."):
        pytest.skip("the host name does not resolve to loopback here")
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((resolved, 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://{name}:{server.server_address[1]}/x"
        outcome = HttpFetcher().fetch(url)
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.error is ErrorKind.OFFSITE and hits == []


def test_listing_links_to_another_port_are_counted_and_never_fetched(tmp_path):
    target = parse_targets({"targets": [{
        "name": "t", "politeness": {"obey_robots": False},
        "listing": {"start_url": "http://h.test:8080/l", "link": {"css": "a", "attr": "href"}},
        "record": {"fields": {"a": {"css": "h1"}}, "required": ["a"]}}]})["t"]
    listing = (b'<a href="/p/1">1</a><a href="http://h.test:9090/p/2">2</a>'
               b'<a href="https://h.test:8080/p/3">3</a>')
    transport = MockTransport({
        "http://h.test:8080/l": Scripted(200, listing, (("Content-Type", "text/html"),)),
        "http://h.test:8080/p/1": Scripted(200, b"<h1>one</h1>"),
    })
    crawler = PartitionCrawler(target, "2025-06-10", LocalObjectStore(tmp_path), HttpFetcher(
        transport=transport, origins=target_policy(target)), Taxonomy(), dict(DEFAULT_POLICIES))
    result = crawler.run()
    assert [e.url for e in result.entries] == ["http://h.test:8080/p/1"]
    assert [u for u, _ in transport.sent] == ["http://h.test:8080/l", "http://h.test:8080/p/1"]
    assert result.outcomes["offsite_links"] == 2
