"""${VAR} references in URLs: the location expands at load, a secret only to send, and is redacted back."""

from __future__ import annotations

import pytest

from fleet_assets.lib.failures import ConfigError, FetchOutcome
from fleet_assets.lib.urlrefs import (
    credential_problem,
    expand_env,
    redact,
    redact_outcome,
    request_url,
    stored_url,
)

ENV = {"SITE": "http://10.0.0.1:8080", "HOST": "shop.example", "KEY": "s3cr&t#x", "USER": "u@x"}


def test_expand_uses_the_value_then_the_default():
    assert expand_env("${SITE}/a ${NOPE:-b}", "t", ENV) == "http://10.0.0.1:8080/a b"


def test_an_unset_variable_names_where_and_how_to_fix_never_a_value():
    with pytest.raises(ConfigError) as err:
        expand_env("http://h/?k=${MISSING}", "target 'shop'.urls[0]", ENV)
    text = str(err.value)
    assert "target 'shop'.urls[0]: environment variable MISSING is not set" in text
    assert "${MISSING:-default}" in text


def test_quoted_values_stay_one_url_component():
    assert expand_env("${USER}", "t", ENV, quote_values=True) == "u%40x"


def test_the_location_is_expanded_in_the_stored_url_and_a_secret_is_kept_as_written():
    url = "${SITE}/items?api_key=${KEY}"
    assert stored_url(url, "t", ENV) == "http://10.0.0.1:8080/items?api_key=${KEY}"
    assert stored_url("https://${HOST}/a/${KEY}", "t", ENV) == "https://shop.example/a/${KEY}"


def test_a_stored_url_checks_every_reference_is_set_even_those_it_keeps():
    with pytest.raises(ConfigError, match="MISSING"):
        stored_url("http://h/?token=${MISSING}", "t", ENV)


def test_the_request_url_expands_the_kept_secret_percent_encoded():
    assert request_url("http://h/items?api_key=${KEY}", ENV) == "http://h/items?api_key=s3cr%26t%23x"
    assert request_url("http://h/plain") == "http://h/plain"


@pytest.mark.parametrize("url", [
    "http://user:pw@h/", "http://user@h/", "http://${USER}:pw@h/", "http://h/?api_key=abc",
    "http://h/?token=abc&x=1", "http://h/?x_api_key=abc", "${SITE:-http://u:p@h}/a",
])
def test_literal_credentials_are_a_problem_that_never_quotes_them(url):
    problem = credential_problem(url)
    assert problem is not None and "pw" not in problem and "abc" not in problem


@pytest.mark.parametrize("url", [
    "http://${USER}:${PASS}@h/", "http://h/?api_key=${KEY}", "http://h/?sortkey=price&page=2",
    "http://h/?monkey=1", "http://h/a@b", "http://h/?key=",
])
def test_references_and_ordinary_parameters_are_not_credentials(url):
    assert credential_problem(url) is None


def test_an_echoed_secret_in_any_encoding_is_put_back_as_its_reference():
    stored = "http://h/items?api_key=${KEY}"
    for echoed in ("s3cr&t#x", "s3cr%26t%23x"):
        assert redact(f"http://h/next?api_key={echoed}", stored, ENV) == \
            "http://h/next?api_key=${KEY}"


def test_a_short_value_is_not_redacted_so_ordinary_characters_survive():
    assert redact("http://h/ab/x", "http://h/?k=${V}", {"V": "ab"}) == "http://h/ab/x"


def test_an_outcome_keeps_its_url_redirects_and_headers_redacted():
    stored = "http://h/items?api_key=${KEY}"
    sent = request_url(stored, ENV)
    outcome = FetchOutcome(url=sent, status=200, body=b"", headers={"location": sent + "&p=2"},
                           error=None, proxy_id=None, final_url=sent + "&p=2", redirects=(sent,))
    kept = redact_outcome(outcome, stored, ENV)
    assert kept.url == stored and kept.redirects == (stored,)
    assert kept.final_url == stored + "&p=2" and kept.headers["location"] == stored + "&p=2"
    assert redact_outcome(outcome, "http://h/plain", ENV) is outcome
