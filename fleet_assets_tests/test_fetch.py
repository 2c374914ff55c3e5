"""The fetcher names transport errors so the taxonomy can tell the proxy's fault from the site's."""

from __future__ import annotations

import socket

import pytest

from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.failures import A, B, ErrorKind, Taxonomy
from fleet_assets.lib.http.fetcher import HttpFetcher

URL = "/jobs/2025-06-10/job/1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fetcher():
    f = HttpFetcher()
    yield f
    f.close()


def test_reset_relayed_by_a_proxy_is_a_transient_connection_reset(sandbox, fetcher):
    sandbox.set_faults({"reset_rate": 1.0})
    outcome = fetcher.fetch(sandbox.url + URL, proxy=Proxy(sandbox.proxy_urls[0]))
    assert outcome.error is ErrorKind.CONNECTION_RESET
    assert Taxonomy().classify(outcome).failure is A
    assert sandbox.stats()["by_client"] == {"proxy-0": 1}  # the proxy did forward it


def test_truncated_body_relayed_by_a_proxy_is_transient(sandbox, fetcher):
    sandbox.set_faults({"truncate_rate": 1.0})
    outcome = fetcher.fetch(sandbox.url + URL, proxy=Proxy(sandbox.proxy_urls[1]))
    assert outcome.error is ErrorKind.TRUNCATED_BODY
    assert Taxonomy().classify(outcome).failure is A


def test_a_proxy_that_refuses_connections_is_environmental(sandbox, fetcher):
    dead = Proxy(f"http://127.0.0.1:{free_port()}")
    outcome = fetcher.fetch(sandbox.url + URL, proxy=dead)
    assert outcome.error is ErrorKind.PROXY_ERROR
    verdict = Taxonomy().classify(outcome)
    assert verdict.failure is B
    assert sandbox.stats()["total"] == 0


def test_a_proxy_answering_407_is_environmental(fetcher):
    from fleet_assets.sandbox import SandboxProcess

    with SandboxProcess(proxies=1, proxy_auth=("fleet", "right")) as sb:
        wrong = sb.proxy_urls[0].replace("right", "wrong")
        outcome = fetcher.fetch(sb.url + URL, proxy=Proxy(wrong))
        assert outcome.status == 407
        assert Taxonomy().classify(outcome).failure is B
        ok = fetcher.fetch(sb.url + URL, proxy=Proxy(sb.proxy_urls[0]))
        assert ok.status == 200 and ok.error is None


def test_a_direct_reset_is_a_transient_connection_reset(sandbox, fetcher):
    sandbox.set_faults({"reset_rate": 1.0})
    outcome = fetcher.fetch(sandbox.url + URL)
    assert outcome.error is ErrorKind.CONNECTION_RESET
    assert Taxonomy().classify(outcome).failure is A
