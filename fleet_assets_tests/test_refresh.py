"""lib/http/refresh.py: which meta refreshes are an instant redirect, and which stay pages."""

from __future__ import annotations

import pytest

from fleet_assets.lib.failures import FetchOutcome
from fleet_assets.lib.http.origins import OriginPolicy
from fleet_assets.lib.http.refresh import refresh_target, refresh_url


@pytest.mark.parametrize(("body", "url"), [
    (b'<meta http-equiv="refresh" content="0; url=/new">', "/new"),
    (b"<META HTTP-EQUIV=Refresh CONTENT='0;URL=new.html'>", "new.html"),
    (b'<meta content="1; url=\'/a?x=1&amp;y=2\'" http-equiv="refresh">', "/a?x=1&y=2"),
    (b'<meta http-equiv="refresh" content="0,/comma">', "/comma"),
    (b'<meta http-equiv="refresh" content="300; url=/later">', None),  # a reload, not a move
    (b'<meta http-equiv="refresh" content="0">', None),  # reloads itself
    (b'<meta name="refresh" content="0; url=/x">', None),
    (b"<p>" + b"x" * 5000 + b'<meta http-equiv="refresh" content="0; url=/late">', None),
])
def test_only_an_instant_refresh_with_a_url_is_a_redirect(body, url):
    assert refresh_url(body) == url


def test_a_body_that_is_not_html_is_never_read():
    assert refresh_url(b'<meta http-equiv="refresh" content="0; url=/x">', "text/plain") is None


H = "http://h.test"


def _page(body: bytes) -> FetchOutcome:
    return FetchOutcome(url=H + "/old", status=200, headers={"content-type": "text/html"},
                        body=body, error=None, proxy_id=None)


def test_the_target_must_be_allowed_and_unvisited():
    policy = OriginPolicy.of([H + "/"])
    moved = _page(b'<meta http-equiv="refresh" content="0; url=/new">')
    assert refresh_target(moved, H + "/old", policy, set()).url == H + "/new"
    assert refresh_target(moved, H + "/old", policy, {H + "/new"}) is None  # a loop: keep it
    away = _page(b'<meta http-equiv="refresh" content="0; url=http://evil.test/">')
    assert refresh_target(away, H + "/old", policy, set()) is None  # offsite: keep the page
    gone = FetchOutcome(url=H + "/old", status=404, headers={}, body=moved.body, error=None,
                        proxy_id=None)
    assert refresh_target(gone, H + "/old", policy, set()) is None
