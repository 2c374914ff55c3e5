"""The proxy pool: ids without credentials, persistent per-target bans, rotation, exhaustion."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool, ban_key, redact
from fleet_assets.lib.failures import ConfigError, FailureClass, ProxiesExhausted
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.urlrefs import expand_env

SECRET = "s3cr3t-Pa55"
URLS = [f"http://alice:{SECRET}@127.0.0.1:{port}" for port in (8081, 8082, 8083)]


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    return LocalObjectStore(tmp_path / "store")


@pytest.fixture
def clock():
    return FakeClock()


def pool_of(store, clock, urls=URLS, cooldown=300.0) -> ProxyPool:
    return ProxyPool([Proxy(u) for u in urls], store=store, cooldown_seconds=cooldown,
                     clock=clock, refresh_seconds=0.0)


# -- Proxy and redaction ---------------------------------------------------------------------
def test_proxy_id_has_host_and_port_but_no_credentials():
    plain = Proxy("http://127.0.0.1:8081")
    authed = Proxy(URLS[0])
    assert plain.id == "127.0.0.1:8081"
    assert authed.id.startswith("127.0.0.1:8081~") and "alice" not in authed.id
    assert SECRET not in authed.id and SECRET not in authed.safe_id
    assert authed.safe_id == authed.id.replace(":", "_").replace("~", "_")


def test_same_gateway_with_different_users_gets_different_ids():
    a = Proxy("http://session-1:pw@gw.example:7000")
    b = Proxy("http://session-2:pw@gw.example:7000")
    assert a.id != b.id


def test_credentials_never_appear_in_repr_or_str():
    proxy = Proxy(URLS[0])
    for text in (repr(proxy), str(proxy), f"{proxy}", repr([proxy]), repr({"p": proxy})):
        assert SECRET not in text and "alice" not in text
    assert str(proxy) == "http://***@127.0.0.1:8081"


def test_pool_repr_has_no_credentials(store, clock):
    assert SECRET not in repr(pool_of(store, clock))


@pytest.mark.parametrize(("text", "expected"), [
    ("via http://u:p@h:1/x failed", "via http://***@h:1/x failed"),
    ("socks5h://user@h:1 and https://a:b@c:2", "socks5h://***@h:1 and https://***@c:2"),
    ("http://u:p@ss@h:1", "http://***@h:1"),  # a raw '@' in the password
    ("http://h:1/path?mail=a@b.c", "http://h:1/path?mail=a@b.c"),
    ("no url here", "no url here"),
])
def test_redact_strips_user_info_from_every_url(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("url", ["127.0.0.1:8081", "ftp://h:21", "http://h", "http://:8080",
                                 f"http://alice:{SECRET}@h:notaport"])
def test_bad_proxy_url_is_a_config_error_without_the_secret(url):
    with pytest.raises(ConfigError, match="is not a proxy URL") as info:
        Proxy(url)
    assert SECRET not in str(info.value)


# -- environment expansion -------------------------------------------------------------------
def test_expand_env_fills_credentials_from_the_environment():
    env = {"PROXY_USER": "alice", "PROXY_PASS": SECRET}
    url = expand_env("http://${PROXY_USER}:${PROXY_PASS}@127.0.0.1:8081", "proxy", env)
    assert url == URLS[0]
    assert expand_env("http://${HOST:-127.0.0.1}:8081", "proxy", {}) == "http://127.0.0.1:8081"


def test_missing_env_var_names_it_and_how_to_set_it_but_no_value():
    env = {"PROXY_USER": "alice-user-value"}
    with pytest.raises(ConfigError) as info:
        expand_env("http://${PROXY_USER}:${PROXY_PASS}@127.0.0.1:8081", "proxy", env)
    message = str(info.value)
    assert "PROXY_PASS is not set" in message and "export PROXY_PASS" in message
    assert "alice-user-value" not in message


def test_from_config_percent_encodes_special_characters():
    proxy = Proxy.from_config("http://${U}:${P}@127.0.0.1:8081", {"U": "a@b", "P": "p:w/d"})
    assert proxy.url == "http://a%40b:p%3Aw%2Fd@127.0.0.1:8081"
    assert proxy.id.startswith("127.0.0.1:8081~")


# -- bans ------------------------------------------------------------------------------------
def test_burn_survives_a_new_pool_on_the_same_store(store, clock):
    first = pool_of(store, clock)
    proxy = first.proxies[0]
    until = first.burn("shop", proxy, "HTTP 403")
    assert until == clock.now + 300.0
    second = pool_of(store, clock)  # another step, run or process
    assert second.burned("shop") == {proxy.id: until}
    assert second.burned("news") == {}
    doc = json.loads(store.get(ban_key("shop", proxy)))
    assert doc["until"] == until and doc["reason"] == "HTTP 403" and doc["proxy"] == proxy.id
    assert ban_key("shop", proxy) == f"state/proxies/shop/{proxy.safe_id}.json"


def test_burned_proxy_is_skipped_for_that_target_only(store, clock):
    pool = pool_of(store, clock)
    burned = pool.proxies[0]
    pool.burn("shop", burned, "captcha")
    picks = {pool.pick("shop").id for _ in range(10)}
    assert burned.id not in picks and len(picks) == 2
    assert burned.id in {pool.pick("news").id for _ in range(3)}


def test_ban_expires_after_its_cooldown(store, clock):
    pool = pool_of(store, clock, cooldown=60.0)
    proxy = pool.proxies[0]
    pool.burn("shop", proxy, "403", cooldown=10.0)
    clock.now += 9.9
    assert proxy.id in pool.burned("shop")
    clock.now += 0.2
    assert pool.burned("shop") == {}


def test_burn_keeps_the_later_until(store, clock):
    pool = pool_of(store, clock)
    proxy = pool.proxies[0]
    long_until = pool.burn("shop", proxy, "429", cooldown=1000.0)
    assert pool.burn("shop", proxy, "403", cooldown=5.0) == long_until
    assert json.loads(store.get(ban_key("shop", proxy)))["reason"] == "429"


def test_pick_rotates_round_robin(store, clock):
    pool = pool_of(store, clock)
    assert [pool.pick("shop").id for _ in range(6)] == [p.id for p in pool.proxies] * 2


def test_pick_prefers_proxies_not_avoided_but_falls_back(store, clock):
    pool = pool_of(store, clock, urls=URLS[:2])
    a, b = pool.proxies
    assert pool.pick("shop", avoid={a.id}).id == b.id
    pool.burn("shop", b, "403")
    assert pool.pick("shop", avoid={a.id}).id == a.id


def test_empty_pool_means_direct(store, clock):
    pool = ProxyPool([], store=store, cooldown_seconds=60.0, clock=clock)
    assert pool.size == 0 and pool.pick("shop") is None and pool.pick_or_raise("shop") is None


def test_every_proxy_burned_raises_with_the_earliest_return(store, clock):
    pool = pool_of(store, clock)
    for i, proxy in enumerate(pool.proxies):
        pool.burn("shop", proxy, "403", cooldown=100.0 + i)
    assert pool.pick("shop") is None
    with pytest.raises(ProxiesExhausted) as info:
        pool.pick_or_raise("shop")
    assert info.value.failure_class is FailureClass.ENVIRONMENTAL
    assert info.value.until == clock.now + 100.0 and info.value.proxies == 3
    assert SECRET not in str(info.value)


def test_a_burn_by_another_process_is_seen_after_refresh(store, clock):
    reader = ProxyPool([Proxy(u) for u in URLS], store=store, cooldown_seconds=60.0,
                       clock=clock, refresh_seconds=5.0)
    writer = pool_of(store, clock)
    assert reader.pick("shop") is not None  # caches "no bans"
    for proxy in writer.proxies:
        writer.burn("shop", proxy, "403")
    assert reader.pick("shop") is not None  # still inside the refresh window
    clock.now += 5.0
    assert reader.pick("shop") is None


def test_concurrent_burns_from_threads_leave_valid_records(store, clock):
    pools = [pool_of(store, clock) for _ in range(4)]
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def burn(i: int) -> None:
        try:
            pool = pools[i % 4]
            barrier.wait()
            for _ in range(10):
                pool.burn("shop", pool.proxies[i % 2], f"403 from thread {i}",
                          cooldown=100.0 + i)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=burn, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    bans = pool_of(store, clock).burned("shop")
    assert set(bans) == {pools[0].proxies[0].id, pools[0].proxies[1].id}
    assert all(clock.now + 100.0 <= until <= clock.now + 115.0 for until in bans.values())
    assert [k for k in store.list("state/") if not k.endswith(".json")] == []
    assert len(list(store.list("state/proxies/shop/"))) == 2


def test_credentials_never_reach_logs_or_ban_records(store, clock, caplog):
    caplog.set_level(logging.DEBUG)
    pool = pool_of(store, clock)
    proxy = pool.pick("shop")
    pool.burn("shop", proxy, f"HTTP 407 from {proxy.url}")
    for p in pool.proxies:
        pool.burn("news", p, "403")
    with pytest.raises(ProxiesExhausted) as info:
        pool.pick_or_raise("news")
    logging.getLogger("test").warning("picked %s, %r, failed %s", proxy, proxy, info.value)
    assert caplog.records
    assert SECRET not in caplog.text and "alice" not in caplog.text
    for key in store.list("state/"):
        assert SECRET.encode() not in store.get(key)
