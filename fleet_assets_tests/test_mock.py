"""MockTransport: scripted answers in turn, raised errors, a fake clock for slow bodies, sends counted."""

from __future__ import annotations

import gzip
import zlib

import pytest
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.http.deadline import Deadline
from fleet_assets.lib.http.mock import MockTransport, Scripted
from fleet_assets.lib.http.origins import parse
from fleet_assets.lib.http.transport import Request

URL = "http://shop.test/item/1"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _request(url: str = URL, seconds: float = 10, clock=None, proxy: Proxy | None = None) -> Request:
    parsed = parse(url)
    deadline = Deadline(seconds, clock=clock) if clock else Deadline(seconds)
    return Request(url=parsed.url, origin=parsed.origin, headers={}, deadline=deadline, proxy=proxy)


def _body(transport: MockTransport, request: Request, amt: int = 1024) -> tuple[int, bytes]:
    resp = transport.send(request)
    try:
        return resp.status, b"".join(resp.stream(amt))
    finally:
        resp.release()
        request.deadline.finish()


def test_a_list_is_served_in_turn_and_its_last_answer_repeats():
    t = MockTransport({URL: [Scripted(503), Scripted(200, b"ok")]})
    assert [_body(t, _request()) for _ in range(3)] == [(503, b""), (200, b"ok"), (200, b"ok")]


def test_an_unscripted_url_is_a_404():
    assert _body(MockTransport(), _request("http://shop.test/other")) == (404, b"not scripted")


def test_a_scripted_exception_is_raised_as_the_http_stack_would():
    t = MockTransport({URL: ProtocolError("Connection aborted.")})
    with pytest.raises(ProtocolError):
        t.send(_request())


def test_every_send_is_recorded_with_its_proxy():
    t = MockTransport({URL: ProtocolError("reset")})
    proxy = Proxy("http://127.0.0.1:3128")
    _body(t, _request("http://shop.test/a"))
    with pytest.raises(ProtocolError):
        t.send(_request(proxy=proxy))
    assert t.sent == [("http://shop.test/a", None), (URL, proxy.id)]


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", lambda b: gzip.compress(b)), ("deflate", zlib.compress)])
def test_encoded_bodies_are_decoded_as_urllib3_does(encoding, encode):
    t = MockTransport({URL: Scripted(200, encode(b"<h1>kettle</h1>"),
                                     headers=(("Content-Encoding", encoding),))})
    assert _body(t, _request()) == (200, b"<h1>kettle</h1>")


def test_a_body_is_streamed_in_chunks_no_larger_than_scripted():
    t = MockTransport({URL: Scripted(200, b"x" * 10, chunk=4)})
    resp = t.send(_request())
    assert [len(c) for c in resp.stream(1024)] == [4, 4, 2]


def test_a_slow_body_passes_its_deadline_on_the_fake_clock_without_sleeping():
    clock = Clock()
    t = MockTransport({URL: Scripted(200, b"x" * 10, chunk=1, delay_per_chunk=1.0)},
                      advance=clock.advance)
    resp = t.send(_request(seconds=5, clock=clock))
    got = []
    with pytest.raises(ReadTimeoutError):
        for chunk in resp.stream(1024):
            got.append(chunk)
    assert len(got) == 4 and clock.now == 5.0


def test_a_failure_after_the_body_is_raised_once_the_body_is_served():
    t = MockTransport({URL: Scripted(200, b"abc", fail_after=ProtocolError("incomplete"))})
    resp = t.send(_request())
    chunks = resp.stream(1024)
    assert next(chunks) == b"abc"
    with pytest.raises(ProtocolError):
        next(chunks)


def test_a_redirect_names_its_location():
    t = MockTransport({URL: Scripted.redirect("/item/2", status=301)})
    resp = t.send(_request())
    assert resp.status == 301 and ("Location", "/item/2") in resp.headers
