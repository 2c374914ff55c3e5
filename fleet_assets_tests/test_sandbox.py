"""The sandbox site, its fault knobs and its proxies, exercised over real HTTP."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import socket
import time
from pathlib import Path

import pytest
import requests
import yaml
from lxml import html

from fleet_assets.sandbox import SandboxProcess, jobs, news, shop

DAY = dt.date(2024, 5, 1)
TARGETS_YAML = Path(__file__).resolve().parents[1] / "targets.yaml"


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False  # an HTTP_PROXY in the environment must not reroute loopback
    yield session
    session.close()


def via(proxy_url: str) -> dict:
    return {"http": proxy_url}


def links(body: bytes, css: str) -> list[str]:
    return [a.get("href") for a in html.fromstring(body).cssselect(css)]


def product_urls(http, base: str, date: dt.date = DAY) -> list[str]:
    body = http.get(f"{base}/shop/{date}/catalog").content
    return [base + href for href in links(body, "a.product-link")]


def targets() -> dict[str, dict]:
    return {t["name"]: t for t in yaml.safe_load(TARGETS_YAML.read_text())["targets"]}


def expand(url: str, base: str, date: dt.date) -> str:
    url = re.sub(r"\$\{FLEET_SANDBOX_URL(:-[^}]*)?\}", base, url)
    return url.replace("{date}", date.isoformat())


def extract(body: bytes, fields: dict) -> dict:
    doc = html.fromstring(body)
    out = {}
    for name, rule in fields.items():
        found = doc.cssselect(rule["css"]) if "css" in rule else doc.xpath(rule["xpath"])
        if not found:
            out[name] = None
        elif "attr" in rule:
            out[name] = found[0].get(rule["attr"])
        else:
            out[name] = " ".join(found[0].text_content().split())
    return out


def detail_urls(http, base: str, target: dict, date: dt.date) -> list[str]:
    if "urls" in target:
        return [expand(u, base, date) for u in target["urls"]]
    listing, url, found = target["listing"], expand(target["listing"]["start_url"], base, date), []
    for _ in range(listing["max_pages"]):
        body = http.get(url).content
        found += [base + href for href in links(body, listing["link"]["css"])]
        nxt = links(body, listing["next_page"]["css"]) if "next_page" in listing else []
        if not nxt:
            break
        url = base + nxt[0]
    return found


# --- content ---------------------------------------------------------------------------


def test_same_date_serves_the_bytes_another_process_renders(sandbox, http):
    sku = shop.catalog(DAY, 40)[3]
    slug = next(iter(news.articles(DAY)))
    served = {
        "catalog": http.get(f"{sandbox.url}/shop/{DAY}/catalog?page=2").content,
        "product": http.get(f"{sandbox.url}/shop/{DAY}/product/{sku}").content,
        "article": http.get(f"{sandbox.url}/news/{DAY}/article/{slug}").content,
        "job": http.get(f"{sandbox.url}/jobs/{DAY}/job/7").content,
    }
    assert served == {
        "catalog": shop.catalog_page(DAY, 2, 40),
        "product": shop.product_page(DAY, sku, 40, False),
        "article": news.article_page(DAY, slug, False),
        "job": jobs.job_page(DAY, 7, False),
    }


def test_next_date_changes_prices_and_assortment():
    today, tomorrow = shop.catalog(DAY, 40), shop.catalog(DAY + dt.timedelta(days=1), 40)
    kept = set(today) & set(tomorrow)
    changed = [s for s in kept if shop.price(DAY, s) != shop.price(DAY + dt.timedelta(1), s)]
    assert len(changed) > 0.9 * len(kept)
    week = [set(shop.catalog(DAY + dt.timedelta(days=d), 40)) for d in range(7)]
    assert set.union(*week) != set.intersection(*week)
    assert len({len(w) for w in week}) > 1


def test_pages_are_realistic_utf8_html_of_4_to_8_kb(sandbox, http):
    for url in product_urls(http, sandbox.url)[:5] + [f"{sandbox.url}/jobs/{DAY}/job/2"]:
        response = http.get(url)
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert b'<meta charset="utf-8">' in response.content
        assert 4000 <= len(response.content) <= 8500
        assert any(ord(c) > 127 for c in response.content.decode("utf-8"))


def test_catalog_follows_next_links_to_every_listed_item(sandbox, http):
    urls = detail_urls(http, sandbox.url, targets()["shop"], DAY)
    assert [u.rsplit("/", 1)[1] for u in urls] == list(shop.catalog(DAY, 40))
    assert http.get(f"{sandbox.url}/shop/{DAY}/catalog?page=99").status_code == 404


def test_unknown_items_and_dates_before_2020_are_404(sandbox, http):
    for path in [
        "/shop/2019-12-31/catalog",
        "/shop/2024-02-30/catalog",
        f"/shop/{DAY}/product/SKU-99999-000",
        f"/news/{DAY}/article/nope",
        f"/jobs/{DAY}/job/21",
        "/elsewhere",
    ]:
        assert http.get(sandbox.url + path).status_code == 404, path


@pytest.mark.parametrize("name", ["shop", "news", "jobs"])
def test_targets_yaml_selectors_find_required_fields_and_optional_ones_vary(sandbox, http, name):
    target = targets()[name]
    fields, required = target["record"]["fields"], target["record"]["required"]
    assert target["record"]["id"] in required
    records = [
        extract(http.get(u).content, fields) for u in detail_urls(http, sandbox.url, target, DAY)
    ]
    assert len(records) >= 8
    for record in records:
        assert all(record[f] for f in required), record
    for optional in set(fields) - set(required) - {"image"}:
        present = sum(r[optional] is not None for r in records)
        assert 0 < present < len(records), optional
    if name == "shop":
        assert all(re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d{2}", r["price"]) for r in records)


# --- fault knobs -----------------------------------------------------------------------


def test_drift_changes_layout_from_its_date_on_and_stays_200(sandbox, http):
    sandbox.set_faults({"drift_from": {"shop": str(DAY), "news": str(DAY), "jobs": str(DAY)}})
    for name, target in targets().items():
        fields = target["record"]["fields"]
        before = DAY - dt.timedelta(days=1)
        old = [
            extract(http.get(u).content, fields)
            for u in detail_urls(http, sandbox.url, target, before)[:3]
        ]
        assert all(r[target["record"]["id"]] for r in old), name
        for url in detail_urls(http, sandbox.url, target, DAY)[:3]:
            response = http.get(url)
            assert response.status_code == 200
            assert set(extract(response.content, fields).values()) == {None}, name


def test_transient_rate_answers_a_mix_of_5xx(sandbox, http):
    sandbox.set_faults({"transient_rate": 1.0})
    codes = {http.get(f"{sandbox.url}/jobs/{DAY}/job/1").status_code for _ in range(40)}
    assert codes <= {500, 502, 503, 504} and len(codes) >= 3


def test_reset_rate_aborts_the_connection_without_a_response(sandbox, http):
    sandbox.set_faults({"reset_rate": 1.0})
    with pytest.raises(requests.ConnectionError):
        http.get(f"{sandbox.url}/jobs/{DAY}/job/1")
    assert sandbox.stats()["by_status"] == {"reset": 1}


def test_truncate_rate_declares_more_bytes_than_it_sends(sandbox):
    sandbox.set_faults({"truncate_rate": 1.0})
    host, port = sandbox.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET /jobs/{DAY}/job/1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    declared = int(re.search(rb"Content-Length: (\d+)", head)[1])
    assert head.startswith(b"HTTP/1.1 200") and 0 < len(body) < declared


def test_slow_rate_delays_the_response(sandbox, http):
    sandbox.set_faults({"slow_rate": 1.0, "slow_seconds": 3})
    started = time.monotonic()
    assert http.get(f"{sandbox.url}/jobs/{DAY}/job/1").status_code == 200
    assert time.monotonic() - started >= 3  # a lower bound holds on any machine
    sandbox.set_faults({})
    started = time.monotonic()
    http.get(f"{sandbox.url}/jobs/{DAY}/job/1")
    assert time.monotonic() - started < 3  # the knob is off: no 3 s sleep (a generous bound)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_carries_retry_after_in_either_form(sandbox, http, form):
    sandbox.set_faults({"rate_limit_rate": 1.0, "retry_after": 30, "retry_after_form": form})
    response = http.get(f"{sandbox.url}/shop/{DAY}/catalog")
    assert response.status_code == 429
    value = response.headers["Retry-After"]
    if form == "seconds":
        assert value == "30"
    else:
        wait = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        assert 25 <= wait <= 31


def test_ban_and_captcha_hit_only_the_named_proxy_clients(sandbox, http):
    sandbox.set_faults({"ban_clients": ["proxy-1"], "captcha_clients": ["proxy-2"]})
    url = f"{sandbox.url}/jobs/{DAY}/job/3"
    ok, banned, captcha = (http.get(url, proxies=via(p)) for p in sandbox.proxy_urls)
    assert ok.status_code == 200 and b'class="job-title"' in ok.content
    assert banned.status_code == 403
    assert captcha.status_code == 200 and b'<div id="captcha-challenge"' in captcha.content
    assert b"captcha" in captcha.content and b"job-title" not in captcha.content
    assert http.get(url).status_code == 200
    assert sandbox.stats()["by_client_status"] == {
        "proxy-0": {"200": 1},
        "proxy-1": {"403": 1},
        "proxy-2": {"200": 1},
        "direct": {"200": 1},
    }


def test_ban_rate_bans_some_proxied_requests_and_never_direct_ones(sandbox, http):
    sandbox.set_faults({"ban_rate": 0.5, "seed": 7})
    url = f"{sandbox.url}/jobs/{DAY}/job/3"
    proxied = [http.get(url, proxies=via(sandbox.proxy_urls[i % 3])).status_code for i in range(30)]
    assert set(proxied) == {200, 403}
    assert {http.get(url).status_code for _ in range(10)} == {200}


def test_require_client_forbids_direct_requests(sandbox, http):
    sandbox.set_faults({"require_client": True})
    url = f"{sandbox.url}/jobs/{DAY}/job/3"
    assert http.get(url).status_code == 403
    assert http.get(url, proxies=via(sandbox.proxy_urls[0])).status_code == 200


def test_gone_items_answer_404_or_410_while_still_linked(sandbox, http):
    sandbox.set_faults({"gone_rate": 0.5, "seed": 3})
    urls = product_urls(http, sandbox.url)
    codes = [http.get(u).status_code for u in urls]
    assert {404, 410} <= set(codes) and 200 in codes
    assert [http.get(u).status_code for u in urls] == codes
    assert sandbox.stats()["faults"]["gone"] == 2 * (len(codes) - codes.count(200))


def test_only_targets_limits_faults_to_the_listed_targets(sandbox, http):
    sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["news"]})
    assert http.get(f"{sandbox.url}/shop/{DAY}/catalog").status_code == 200
    assert http.get(f"{sandbox.url}/news/{DAY}/").status_code >= 500


def test_robots_allows_everything_by_default_and_is_never_faulted(sandbox, http):
    assert "Allow: /" in http.get(f"{sandbox.url}/robots.txt").text
    sandbox.set_faults({"transient_rate": 1.0, "robots_disallow": ["/shop/"], "crawl_delay": 2})
    response = http.get(f"{sandbox.url}/robots.txt")
    assert response.status_code == 200
    assert "Disallow: /shop/" in response.text and "Crawl-delay: 2" in response.text


def test_faults_admin_replaces_knobs_and_rejects_unknown_names(sandbox, http):
    sandbox.set_faults({"transient_rate": 0.5})
    sandbox.set_faults({"reset_rate": 0.25})
    current = sandbox.get_faults()
    assert current["transient_rate"] == 0 and current["reset_rate"] == 0.25
    response = http.post(f"{sandbox.url}/_admin/faults", json={"transient_rat": 1})
    assert response.status_code == 400 and "transient_rat" in response.text


def test_stats_count_by_target_status_and_client_but_not_admin(sandbox, http):
    http.get(f"{sandbox.url}/shop/{DAY}/catalog")
    http.get(f"{sandbox.url}/news/{DAY}/", proxies=via(sandbox.proxy_urls[0]))
    http.get(f"{sandbox.url}/jobs/{DAY}/job/99")
    http.get(f"{sandbox.url}/_admin/faults")
    stats = sandbox.stats()
    assert stats["total"] == 3
    assert stats["by_target"] == {"shop": 1, "news": 1, "jobs": 1}
    assert stats["by_status"] == {"200": 2, "404": 1}
    assert stats["by_client"] == {"direct": 2, "proxy-0": 1}
    sandbox.reset_stats()
    assert sandbox.stats()["total"] == 0


def test_shop_items_scales_one_day_catalog_to_thousands():
    with SandboxProcess(shop_items=10_000) as big:
        body = requests.get(
            f"{big.url}/shop/{DAY}/catalog?page=450", proxies={"http": None}
        ).content
    assert len(links(body, "a.product-link")) == 20
    assert re.search(rb'class="count">9\d{3} products', body)


# --- proxies ---------------------------------------------------------------------------


def test_proxies_refuse_non_loopback_hosts_without_forwarding(sandbox, http):
    for url in ["http://example.com/", "http://10.0.0.1:8787/shop/", "http://[::2]/"]:
        response = http.get(url, proxies=via(sandbox.proxy_urls[0]))
        assert response.status_code == 403, url
    assert sandbox.stats()["total"] == 0


def test_proxy_passes_an_upstream_reset_through_once(sandbox, http):
    sandbox.set_faults({"reset_rate": 1.0})
    with pytest.raises(requests.ConnectionError):
        http.get(f"{sandbox.url}/jobs/{DAY}/job/1", proxies=via(sandbox.proxy_urls[0]))
    assert sandbox.stats()["by_client_status"] == {"proxy-0": {"reset": 1}}


def test_proxy_keeps_the_client_connection_alive(sandbox):
    host, port = sandbox.proxy_urls[0].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(f"GET {sandbox.url}/robots.txt HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            reply = b""
            while not reply.endswith(b"Allow: /\n"):
                reply += sock.recv(65536)
            assert reply.startswith(b"HTTP/1.1 200")
    assert sandbox.stats()["by_client"] == {"proxy-0": 2}


def test_proxy_auth_answers_407_and_never_forwards_credentials(http):
    with SandboxProcess(proxies=1, proxy_auth=("fleet", "s3cret")) as sandbox:
        proxy = sandbox.proxy_urls[0]
        assert proxy.startswith("http://fleet:s3cret@127.0.0.1:")
        echo = f"{sandbox.url}/_admin/echo"
        for bad in [proxy.replace("fleet:s3cret@", ""), proxy.replace("s3cret", "wrong")]:
            response = http.get(echo, proxies=via(bad))
            assert response.status_code == 407
            assert "Basic" in response.headers["Proxy-Authenticate"]
            assert "s3cret" not in response.text
        headers = http.get(echo, proxies=via(proxy)).json()["headers"]
    assert headers["X-Fleet-Client"] == "proxy-0"
    assert not {"proxy-authorization", "proxy-connection"} & {h.lower() for h in headers}
