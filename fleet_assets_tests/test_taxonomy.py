"""The taxonomy table (lib/taxonomy.py): every row of the rule table, markers, overrides."""

from __future__ import annotations

import pytest

from fleet_assets.lib.failures import (
    ConfigError,
    ErrorKind,
    FailureClass,
    FetchOutcome,
)
from fleet_assets.lib.taxonomy import Taxonomy

A, B, C, D = "A", "B", "C", "D"
TAX = Taxonomy()
PAGE = b"<html><head><title>Blue widget</title></head><body><h1>Blue widget</h1></body></html>"


def response(status: int | None, body: bytes | None = PAGE, error: ErrorKind | None = None,
             headers: dict[str, str] | None = None, **kw) -> FetchOutcome:
    return FetchOutcome(url="http://site.test/p", status=status, headers=headers or {},
                        body=body, error=error, proxy_id=None, **kw)


def failure_of(outcome: FetchOutcome) -> str | None:
    verdict = TAX.classify(outcome)
    return verdict.failure.value if verdict.failure else None


STATUS_TABLE = [
    (408, A), (500, A), (502, A), (503, A), (504, A), (522, A), (524, A),
    (401, B), (403, B), (407, B), (429, B),
    (404, D), (410, D), (451, D),
    (200, None), (201, None), (203, None),
    # defaults for statuses the table does not name
    (501, A), (520, A), (599, A), (400, D), (405, D), (418, D), (300, D), (304, D),
    (999, B), (600, B),
]


@pytest.mark.parametrize(("status", "expected"), STATUS_TABLE)
def test_every_status_of_the_table_maps_to_its_class(status, expected):
    assert failure_of(response(status)) == expected


def test_429_is_environmental():
    verdict = TAX.classify(response(429, headers={"Retry-After": "3"}))
    assert verdict.failure is FailureClass.ENVIRONMENTAL
    assert verdict.retryable and verdict.failure is FailureClass.ENVIRONMENTAL


def test_404_is_hard_and_not_retryable():
    verdict = TAX.classify(response(404))
    assert verdict.failure is FailureClass.HARD and not verdict.retryable


def test_401_after_working_credentials_is_hard():
    assert failure_of(response(401, credentials_worked_before=True)) == D
    assert failure_of(response(401, credentials_worked_before=False)) == B


ERROR_TABLE = [
    (ErrorKind.DNS, A), (ErrorKind.CONNECT_TIMEOUT, A), (ErrorKind.READ_TIMEOUT, A),
    (ErrorKind.CONNECTION_RESET, A), (ErrorKind.CONNECTION_REFUSED, A), (ErrorKind.TLS_ERROR, A),
    (ErrorKind.TRUNCATED_BODY, A), (ErrorKind.DECODE_ERROR, A), (ErrorKind.MALFORMED_RESPONSE, A),
    (ErrorKind.PROXY_ERROR, B), (ErrorKind.OFFSITE, D),
    (ErrorKind.INVALID_URL, D), (ErrorKind.REDIRECT_LOOP, D), (ErrorKind.REDIRECT_REFUSED, D),
    (ErrorKind.TOO_LARGE, D),
]


def test_error_table_covers_every_error_kind():
    assert {kind for kind, _ in ERROR_TABLE} == set(ErrorKind)


@pytest.mark.parametrize(("kind", "expected"), ERROR_TABLE)
def test_every_transport_error_maps_to_its_class(kind, expected):
    assert failure_of(response(None, body=None, error=kind)) == expected


@pytest.mark.parametrize("kind", [ErrorKind.TRUNCATED_BODY, ErrorKind.DECODE_ERROR,
                                  ErrorKind.TOO_LARGE])
def test_a_spoiled_body_does_not_hide_a_failing_status(kind):
    assert failure_of(response(404, body=None, error=kind)) == D
    assert failure_of(response(429, body=None, error=kind)) == B


def test_truncated_200_is_transient():
    assert failure_of(response(200, body=None, error=ErrorKind.TRUNCATED_BODY)) == A


def test_redirect_refused_wins_over_its_3xx_status():
    assert failure_of(response(302, body=None, error=ErrorKind.REDIRECT_REFUSED)) == D


def test_body_shorter_than_content_length_is_transient():
    assert failure_of(response(200, body=b"half", headers={"Content-Length": "8"})) == A
    assert failure_of(response(200, body=b"half", headers={"content-length": "4"})) is None
    gzipped = {"Content-Length": "8", "Content-Encoding": "gzip"}  # length of the encoded body
    assert failure_of(response(200, body=b"decoded body is longer", headers=gzipped)) is None


@pytest.mark.parametrize("body", [
    b'<div id="captcha-challenge" class="challenge"><h1>Are you a robot?</h1></div>',
    b"<title>Verify you are human (captcha)</title>",
    b"<title>Just a moment...</title><script src='/cdn-cgi/challenge-platform/h/b'></script>",
    b"<form id='challenge-form' action='/?__cf_chl_f_tk=x'>",
    b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY>You don't have permission</BODY>",
    b"<h1>Access denied</h1> You don't have permission to access this server",
])
def test_captcha_and_block_pages_with_200_are_environmental(body):
    assert failure_of(response(200, body=body)) == B


def test_a_challenge_served_as_503_is_environmental():
    assert failure_of(response(503, body=b"<title>Just a moment</title>cf-chl-bypass")) == B


def test_recaptcha_widget_on_a_real_page_is_not_a_block():
    body = PAGE + b'<script src="https://www.google.com/recaptcha/api.js"></script>'
    assert failure_of(response(200, body=body)) is None


def test_sandbox_captcha_interstitial_is_environmental():
    from fleet_assets.sandbox.sites import captcha_page, error_page

    assert failure_of(response(200, body=captcha_page())) == B
    assert failure_of(response(500, body=error_page(500))) == A


def test_good_page_verdict_is_ok():
    verdict = TAX.classify(response(200))
    assert verdict.ok and verdict.failure is None and not verdict.retryable


# -- overrides -------------------------------------------------------------------------------
def test_status_override_changes_only_that_status():
    tax = TAX.with_overrides({"status": {"403": "A", 202: "a", "200": "ok", "404": None}})
    assert tax.classify(response(403)).failure is FailureClass.TRANSIENT
    assert tax.classify(response(202)).failure is FailureClass.TRANSIENT
    assert tax.classify(response(404)).ok
    assert tax.classify(response(429)).failure is FailureClass.ENVIRONMENTAL
    assert TAX.classify(response(403)).failure is FailureClass.ENVIRONMENTAL  # original intact


def test_error_and_credential_overrides():
    tax = TAX.with_overrides({"errors": {"redirect_refused": "environmental"},
                              "credentials_revoked": "B"})
    assert tax.classify(response(None, None, ErrorKind.REDIRECT_REFUSED)).failure.value == B
    assert tax.classify(response(401, credentials_worked_before=True)).failure.value == B


def test_marker_overrides_replace_the_defaults():
    tax = TAX.with_overrides({"captcha_markers": ["please enable cookies"],
                              "captcha_patterns": [r"blocked\s+by\s+\w+"]})
    assert tax.classify(response(200, b"<p>Please enable COOKIES</p>")).failure.value == B
    assert tax.classify(response(200, b"<p>blocked  by waf</p>")).failure.value == B
    assert tax.classify(response(200, b'<div id="captcha-challenge">')).ok


def test_empty_overrides_give_an_equal_taxonomy():
    assert TAX.with_overrides({}) == TAX and TAX.with_overrides(None) == TAX


@pytest.mark.parametrize(("overrides", "message"), [
    ({"statuses": {}}, "unknown key(s) statuses; allowed: status"),
    ({"status": ["403"]}, "taxonomy.status: expected a mapping"),
    ({"status": {"forbidden": "B"}}, "'forbidden' is not an HTTP status code"),
    ({"status": {"42": "B"}}, "from 100 to 999"),
    ({"status": {"403": "E"}}, "taxonomy.status.403: 'E' is not a failure class; use A, B, C, D"),
    ({"errors": {"timeout": "A"}}, "'timeout' is not an error kind; known: dns"),
    ({"errors": {"dns": "ok"}}, "taxonomy.errors.dns: 'ok' is not a failure class"),
    ({"captcha_markers": "captcha"}, "taxonomy.captcha_markers: expected a list"),
    ({"captcha_patterns": ["(unclosed"]}, "is not a valid regex"),
])
def test_bad_overrides_name_the_key_and_the_fix(overrides, message):
    with pytest.raises(ValueError, match=None) as info:
        TAX.with_overrides(overrides)
    assert isinstance(info.value, ConfigError)
    assert message in str(info.value)


def _reference_marker(tax: Taxonomy, body: bytes) -> str | None:
    """The verdict of one case-insensitive regex per marker, as classify ran before."""
    import re as _re

    for m in tax.captcha_markers:
        if _re.search(_re.escape(m.encode()), body, _re.IGNORECASE):
            return m
    for p in tax.captcha_patterns:
        if _re.search(p.encode(), body, _re.IGNORECASE):
            return p
    return None


@pytest.mark.parametrize("body", [
    b"<html><title>Shop</title><p>ordinary</p></html>",
    b"<div ID='PX-Captcha'>", b"see CF-CHL and captcha-delivery.COM",  # first in list order wins
    b"<TITLE>Just a moment...</TITLE>", b"Incapsula Incident ID: 9", b"",
    b"\xff\xfe caf\xe9 <title>Access Denied</title>", b"www.GOOGLE.com/sorry/index",
    "na\u00efve \u00c9CRAN cf_chl_x".encode(),  # non-ASCII bytes around an ASCII marker
])
def test_block_marker_gives_the_verdicts_of_one_regex_per_marker(body):
    custom = Taxonomy(captcha_markers=("Wall", "\u00c9cran"),
                      captcha_patterns=(r"[A-Z]{3}\d", r"[!-^]{4}q", r"\x41\x42c", r"(?-i:Zz)y"))
    for tax in (Taxonomy(), custom):
        assert tax.block_marker(body) == _reference_marker(tax, body)
    assert custom.block_marker("\u00e9cran".encode()) is None  # ASCII-only case folding, as re
    assert custom.block_marker(b"xx abc1") == r"[A-Z]{3}\d"
    # patterns that a lowered body would answer differently keep the IGNORECASE search
    assert custom.block_marker(b".. abcdQ") == r"[!-^]{4}q"
    assert custom.block_marker(b"abC") == r"\x41\x42c"
    assert custom.block_marker(b"ZzY") == r"(?-i:Zz)y" and custom.block_marker(b"zzy") is None


def test_block_marker_agrees_with_one_regex_per_marker_on_random_bodies():
    import random

    rng = random.Random(14)
    pieces = [b"<TITLE>", b"</title>", b"Just a Moment", b"...", b" ", b"\n", b"ID", b"=", b"'",
              b"Captcha-Challenge", b"<h1>", b"ACCESS DENIED", b"</H1>", b"you don't have "
              b"permission to access", b"Our Systems have detected unusual traffic", b"\xc3\x89",
              b"/cdn-cgi/challenge-platform/h/b/orchestrate/", b"abcdQ", b"px-CAPTCHA", b"a"]
    custom = Taxonomy(captcha_markers=(),
                      captcha_patterns=(r"[!-^]{4}q", r"[a-z]{3}\s*=", r"(?-i:ID)="))
    for _ in range(3000):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        for tax in (Taxonomy(), custom):
            assert tax.block_marker(body) == _reference_marker(tax, body), body
