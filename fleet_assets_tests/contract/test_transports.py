"""The transport contract: every transport, under the one fetcher, gives the same outcomes.

Each case is one scripted response (``Scripted``). The urllib3 transport gets it from a real
``http.server`` on loopback that writes exactly the scripted status, headers and body; the
mock transport serves the script directly. Two more listeners (127.0.0.1 and 127.0.0.2)
count every request that reaches "elsewhere": the origin rules must keep them at zero.
"""

from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from urllib3.exceptions import IncompleteRead, ProtocolError

from fleet_assets.lib.failures import A, D, ErrorKind
from fleet_assets.lib.http.deadline import Deadline
from fleet_assets.lib.http.fetcher import FetchSettings, HttpFetcher
from fleet_assets.lib.http.mock import MockTransport, Scripted
from fleet_assets.lib.http.origins import parse
from fleet_assets.lib.http.transport import Request, Urllib3Transport
from fleet_assets.lib.taxonomy import Taxonomy

PAGE = b"<html><head><title>t</title></head><body><h1>page</h1></body></html>"
CAP = 1000


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the fetcher hangs up on oversized and malformed bodies on purpose


def _serve(host: str, routes: dict[str, Scripted] | None, hits: list[str]) -> _Server:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            s = (routes or {}).get(self.path, Scripted(404, b"no"))
            self.send_response(s.status)
            for k, v in s.headers:
                self.send_header(k, v)
            if not any(k.lower() == "content-length" for k, _ in s.headers):
                self.send_header("Content-Length", str(len(s.body)))
            self.end_headers()
            self.wfile.write(s.body)
            if s.fail_after is not None:
                self.close_connection = True

    server = _Server((host, 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@dataclass
class Site:
    base: str
    fetcher: HttpFetcher
    elsewhere: list[str]
    transport: object


def routes(base: str, other: str, other2_port: int) -> dict[str, Scripted]:
    port = base.rsplit(":", 1)[1]
    return {
        "/page": Scripted(200, PAGE, (("Content-Type", "text/html; charset=utf-8"),
                                      ("Content-Language", "de"), ("ETag", '"v1"'),
                                      ("Last-Modified", "Tue, 10 Jun 2025 08:00:00 GMT"))),
        "/gzip": Scripted(200, gzip.compress(PAGE), (("Content-Encoding", "gzip"),)),
        "/moved": Scripted.redirect("/moved-again", 301),
        "/moved-again": Scripted.redirect(f"{base}/page", 307),
        "/conflict": Scripted(200, b"12345", (("Content-Length", "5"), ("Content-Length", "7"))),
        "/big": Scripted(200, b"x" * (CAP + 1)),
        "/truncated": Scripted(200, b"0123456789", (("Content-Length", "100"),),
                               fail_after=ProtocolError("Connection broken", IncompleteRead(10, 90))),
        "/cross-port-302": Scripted.redirect(f"{other}/x", 302),
        "/cross-port-307": Scripted.redirect(f"{other}/x", 307),
        "/backslash": Scripted.redirect(f"http://127.0.0.2:{other2_port}\\@127.0.0.1:{port}/x"),
        "/userinfo": Scripted.redirect(f"http://127.0.0.1:{port}@127.0.0.2:{other2_port}/x"),
        "/scheme": Scripted.redirect("file:///etc/passwd"),
        "/loop": Scripted.redirect("/loop"),
    }


@pytest.fixture(params=["urllib3", "mock"])
def site(request) -> Iterator[Site]:
    hits: list[str] = []
    other = _serve("127.0.0.1", None, hits)
    other2 = _serve("127.0.0.2", None, hits)
    settings = FetchSettings(max_body_bytes=CAP, timeout_seconds=5)
    other_url = f"http://127.0.0.1:{other.server_address[1]}"
    if request.param == "urllib3":
        script: dict[str, Scripted] = {}
        server = _serve("127.0.0.1", script, hits)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        script.update(routes(base, other_url, other2.server_address[1]))
        transport: object = Urllib3Transport()
        servers = [server, other, other2]
    else:
        base = "http://127.0.0.1:9"  # never connected to
        table = routes(base, other_url, other2.server_address[1])
        transport = MockTransport({base + path: s for path, s in table.items()})
        servers = [other, other2]
    fetcher = HttpFetcher(settings, transport=transport)  # type: ignore[arg-type]
    yield Site(base, fetcher, hits, transport)
    fetcher.close()
    for s in servers:
        s.shutdown()
        s.server_close()


def _elsewhere(site: Site) -> list[str]:
    return [p for p in site.elsewhere if p == "/x"]


def test_a_page_and_the_headers_that_matter(site):
    o = site.fetcher.fetch(site.base + "/page")
    assert (o.status, o.error, o.body) == (200, None, PAGE)
    assert o.header("content-type") == "text/html; charset=utf-8" and o.header("etag") == '"v1"'
    assert o.header("content-language") == "de" and o.header("last-modified").startswith("Tue")
    assert o.final_url == site.base + "/page" and o.redirects == ()


def test_gzip_is_decoded(site):
    assert site.fetcher.fetch(site.base + "/gzip").body == PAGE


def test_redirects_are_followed_and_kept(site):
    o = site.fetcher.fetch(site.base + "/moved")
    assert (o.status, o.body) == (200, PAGE)
    assert o.url == site.base + "/moved" and o.final_url == site.base + "/page"
    assert o.redirects == (site.base + "/moved", site.base + "/moved-again")


def test_conflicting_content_lengths_are_one_class(site):
    o = site.fetcher.fetch(site.base + "/conflict")
    assert o.error is ErrorKind.MALFORMED_RESPONSE and o.body is None
    assert Taxonomy().classify(o).failure is A


def test_a_body_over_the_cap_is_too_large(site):
    o = site.fetcher.fetch(site.base + "/big")
    assert o.error is ErrorKind.TOO_LARGE and o.body is None


def test_a_truncated_body_is_transient(site):
    o = site.fetcher.fetch(site.base + "/truncated")
    assert o.error is ErrorKind.TRUNCATED_BODY and Taxonomy().classify(o).failure is A


@pytest.mark.parametrize("path, kind", [
    ("/cross-port-302", ErrorKind.OFFSITE), ("/cross-port-307", ErrorKind.OFFSITE),
    ("/backslash", ErrorKind.REDIRECT_REFUSED), ("/userinfo", ErrorKind.REDIRECT_REFUSED),
    ("/scheme", ErrorKind.REDIRECT_REFUSED), ("/loop", ErrorKind.REDIRECT_LOOP),
])
def test_redirects_elsewhere_reach_nothing(site, path, kind):
    o = site.fetcher.fetch(site.base + path)
    assert o.error is kind and o.body is None and Taxonomy().classify(o).failure is D
    assert _elsewhere(site) == []


def test_a_backslash_url_is_refused_before_any_request(site):
    port = site.base.rsplit(":", 1)[1]
    other2 = "http://127.0.0.2:1"
    o = site.fetcher.fetch(f"{other2}\\@127.0.0.1:{port}/x")
    assert o.error is ErrorKind.INVALID_URL and _elsewhere(site) == []


def test_the_transport_itself_never_follows_a_redirect(site):
    parsed = parse(site.base + "/moved")
    req = Request(url=parsed.url, origin=parsed.origin, headers={}, deadline=Deadline(5))
    resp = site.transport.send(req)  # type: ignore[attr-defined]
    try:
        assert resp.status == 301
        assert dict((k.lower(), v) for k, v in resp.headers)["location"] == "/moved-again"
        assert b"".join(resp.stream(1024)) == b""
    finally:
        resp.release()
        req.deadline.finish()
