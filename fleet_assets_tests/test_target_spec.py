"""The targets.yaml models: strict types, unknown keys refused, one source, references checked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fleet_assets.lib.config import problems_from
from fleet_assets.lib.target_spec import TargetSpec

RECORD = {"fields": {"title": {"css": "h1"}, "price": {"css": ".price", "type": "float"}},
          "required": ["title"]}


def _spec(**over):
    return {"name": "shop", "urls": ["http://127.0.0.1:1/item/1"], "record": RECORD, **over}


def _problems(doc) -> list[str]:
    with pytest.raises(ValidationError) as err:
        TargetSpec.model_validate(doc)
    return [str(p) for p in problems_from(err.value, "target 'shop'", TargetSpec)]


def test_a_minimal_target_gets_the_documented_defaults():
    t = TargetSpec.model_validate(_spec())
    assert t.politeness.max_concurrency == 8 and t.politeness.obey_robots is True
    assert t.timeout_seconds == 10.0 and t.drift.min_required_coverage == 0.9
    assert t.record.fields["title"].type == "str" and t.proxies == [] and t.listing is None


@pytest.mark.parametrize("over, words", [
    ({"politeness": {"obey_robots": "false"}}, "politeness.obey_robots"),
    ({"timeout_seconds": "5"}, "timeout_seconds"),
    ({"timeout_seconds": float("nan")}, "timeout_seconds"),
    ({"max_body_bytes": 0}, "max_body_bytes: must be greater than or equal to 1"),
    ({"colour": "red"}, "colour: unknown key; allowed:"),
    ({"drift": {"min_required_coverage": 1.5}}, "drift.min_required_coverage: must be less than"),
    # a key under a named field lists that field's keys (it used to say only "see docs")
    ({"record": {**RECORD, "fields": {"title": {"css": "h1", "colour": "red"}}}},
     "record.fields.title.colour: unknown key; allowed: attr, css, type, xpath"),
])
def test_strict_types_and_unknown_keys_are_problems_naming_the_field(over, words):
    assert any(words in p for p in _problems(_spec(**over)))


def test_exactly_one_of_urls_or_listing():
    listing = {"start_url": "http://127.0.0.1:1/list", "link": {"css": "a.item"}}
    assert any("exactly one of 'urls' or 'listing'" in p
               for p in _problems(_spec(listing=listing)))
    both_missing = {k: v for k, v in _spec().items() if k != "urls"}
    assert any("exactly one of 'urls' or 'listing'" in p for p in _problems(both_missing))
    assert TargetSpec.model_validate({**both_missing, "listing": listing}).listing.max_pages == 100


@pytest.mark.parametrize("record, words", [
    ({**RECORD, "required": ["sku"]}, "required lists ['sku'], not defined under fields"),
    ({**RECORD, "id": "sku"}, "id 'sku' is not defined under fields"),
    ({**RECORD, "fields": {"Title": {"css": "h1"}}, "required": ["Title"]}, "not a lowercase"),
    ({**RECORD, "fields": {"url": {"css": "a"}}, "required": ["url"]}, "is a column of every record"),
    ({**RECORD, "fields": {"title": {"css": "a:hover"}}}, ":hover never matches"),
    ({**RECORD, "fields": {"title": {"css": "h1", "xpath": "//h1"}}}, "exactly one of 'css'"),
])
def test_record_mistakes_name_the_fix(record, words):
    assert any(words in p for p in _problems(_spec(record=record)))


@pytest.mark.parametrize("urls, words", [
    (["ftp://h/a"], "not an absolute http(s) URL"),
    (["/relative"], "not an absolute http(s) URL"),
    (["http://u:pw@h/a"], "literal credentials"),
    (["http://h/?k=${FLEET_TEST_UNSET_VAR}"], "FLEET_TEST_UNSET_VAR is not set"),
])
def test_bad_urls_are_refused_without_quoting_a_credential(urls, words, monkeypatch):
    monkeypatch.delenv("FLEET_TEST_UNSET_VAR", raising=False)
    problems = _problems(_spec(urls=urls))
    assert any(words in p for p in problems) and not any("pw" in p for p in problems)


def test_a_location_reference_is_expanded_and_a_secret_kept(monkeypatch):
    monkeypatch.setenv("FLEET_TEST_SITE", "http://10.1.2.3:8080")
    monkeypatch.setenv("FLEET_TEST_KEY", "k3y")
    t = TargetSpec.model_validate(_spec(urls=["${FLEET_TEST_SITE}/a?api_key=${FLEET_TEST_KEY}"]))
    assert t.urls == ["http://10.1.2.3:8080/a?api_key=${FLEET_TEST_KEY}"]


@pytest.mark.parametrize("proxy, ok", [
    ("http://127.0.0.1:3128", True), ("socks5h://127.0.0.1:1080", True),
    ("http://${PROXY_USER}:${PROXY_PASS}@127.0.0.1:8081", True),
    ("ftp://127.0.0.1:21", False), ("127.0.0.1:3128", False),
])
def test_proxy_schemes_are_the_ones_the_proxies_support(proxy, ok):
    if ok:
        assert TargetSpec.model_validate(_spec(proxies=[proxy])).proxies == [proxy]
    else:
        assert any("is not supported" in p for p in _problems(_spec(proxies=[proxy])))


def test_allowed_origins_are_normalised_and_a_path_is_refused():
    t = TargetSpec.model_validate(_spec(allowed_origins=["https://cdn.example.com"]))
    assert t.allowed_origins == ["https://cdn.example.com:443"]
    assert any("has a path or query" in p
               for p in _problems(_spec(allowed_origins=["https://cdn.example.com/img"])))


def test_taxonomy_and_retry_are_checked_by_their_own_modules_and_must_be_finite():
    assert any("not a finite number" in p
               for p in _problems(_spec(retry={"A": {"base_seconds": float("inf")}})))
    assert _problems(_spec(taxonomy={"no_such_key": 1}))
