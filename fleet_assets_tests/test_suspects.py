"""Suspects: a good answer yielding no required field is asked again, never when nothing is required."""

from __future__ import annotations

from dataclasses import replace

from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool
from fleet_assets.lib.crawl.suspects import is_suspect, other_proxy, proxy_by_id
from fleet_assets.lib.failures import FetchOutcome
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import parse_targets

TARGETS = {"targets": [{
    "name": "shop", "urls": ["http://127.0.0.1:1/item/1"],
    "record": {"fields": {"title": {"css": "h1.title", "type": "str"},
                          "price": {"css": ".price", "type": "float"}},
               "required": ["title", "price"]},
}]}


def _rules():
    return parse_targets(TARGETS)["shop"].record


def _page(body: str) -> FetchOutcome:
    return FetchOutcome(url="http://127.0.0.1:1/item/1", status=200, body=body.encode(),
                        headers={"content-type": "text/html; charset=utf-8"}, error=None, proxy_id=None)


def test_a_page_with_none_of_the_required_fields_is_a_suspect():
    assert is_suspect(_page("<html><p>Please wait while we check your browser</p></html>"), _rules())


def test_a_page_with_only_some_required_fields_is_not_a_suspect():
    assert not is_suspect(_page("<h1 class='title'>Kettle</h1>"), _rules())


def test_a_page_with_the_fields_is_not_a_suspect():
    assert not is_suspect(_page("<h1 class='title'>Kettle</h1><span class='price'>12.5</span>"),
                          _rules())


def test_nothing_required_means_nothing_is_ever_a_suspect():
    # targets.yaml refuses an empty ``required``; rules built in code may still have none.
    assert not is_suspect(_page("<p>empty</p>"), replace(_rules(), required=()))


def _pool(n: int, tmp_path) -> ProxyPool:
    return ProxyPool([Proxy(f"http://127.0.0.1:{9000 + i}") for i in range(n)],
                     store=LocalObjectStore(tmp_path), cooldown_seconds=60.0, clock=lambda: 0.0)


def test_another_proxy_is_one_other_than_the_one_that_answered(tmp_path):
    pool = _pool(2, tmp_path)
    first = pool.proxies[0]
    other = other_proxy(pool, "shop", first.id)
    assert other is not None and other.id != first.id


def test_no_other_proxy_without_a_pool_or_with_only_the_one_that_answered(tmp_path):
    assert other_proxy(None, "shop", None) is None
    pool = _pool(1, tmp_path)
    assert other_proxy(pool, "shop", pool.proxies[0].id) is None


def test_a_proxy_is_found_by_its_id_and_an_unknown_id_finds_none(tmp_path):
    pool = _pool(2, tmp_path)
    assert proxy_by_id(pool, pool.proxies[1].id) is pool.proxies[1]
    assert proxy_by_id(pool, "nope") is None and proxy_by_id(pool, None) is None
    assert proxy_by_id(None, pool.proxies[0].id) is None
