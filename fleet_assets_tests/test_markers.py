"""The default block-page markers: each documented wall is matched, an ordinary page never is."""

from __future__ import annotations

import re

import pytest

from fleet_assets.lib.markers import DEFAULT_CAPTCHA_MARKERS, DEFAULT_CAPTCHA_PATTERNS


def _blocked(body: str) -> bool:
    low = body.lower()
    return (any(m.lower() in low for m in DEFAULT_CAPTCHA_MARKERS)
            or any(re.search(p, body, re.IGNORECASE) for p in DEFAULT_CAPTCHA_PATTERNS))


@pytest.mark.parametrize("wall", [
    "<html><head><title>Just a moment...</title></head><script src='/cdn-cgi/challenge-platform/x'>",
    "<title>Attention Required! | Cloudflare</title>",
    "<div id='sec-if-cpt-container'>",
    "<iframe src='https://geo.captcha-delivery.com/captcha/'>",
    "<div id='px-captcha'></div>",
    "Incapsula incident ID: 123",
    "<div id=captcha-challenge>",
    '<div id = "captcha-challenge">',
    "<title>Access Denied</title>",
    "<H1>Access Denied</H1>\n \nYou don't have permission to access \"http&#58;&#47;&#47;x\"",
    "Our systems have detected unusual traffic from your computer network.",
    "<TITLE>Verify you are human</TITLE>",
])
def test_each_documented_wall_is_matched(wall):
    assert _blocked(wall)


@pytest.mark.parametrize("page", [
    "<form><div class='g-recaptcha' data-sitekey='k'></div><button>Send</button></form>",
    "<h1>Captcha kit for makers</h1><p>In stock</p>",
    "<title>Access denied errors explained: a guide</title>",
    "<p>Our guide to access denied pages</p>",
    "<script src='https://www.google.com/recaptcha/api.js'></script>",
])
def test_ordinary_pages_that_mention_a_wall_are_not_matched(page):
    assert not _blocked(page)


def test_every_pattern_compiles_and_no_marker_is_the_bare_word_captcha():
    for p in DEFAULT_CAPTCHA_PATTERNS:
        re.compile(p)
    assert "captcha" not in {m.lower() for m in DEFAULT_CAPTCHA_MARKERS}
