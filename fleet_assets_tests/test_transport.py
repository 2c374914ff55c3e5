"""PoolFetcher (urllib3) keeps HttpFetcher's contract, also through the sandbox's proxies."""

from __future__ import annotations

import json

import pytest

from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.failures import ErrorKind, FailureClass, Taxonomy
from fleet_assets.lib.http.fetcher import HttpFetcher
from fleet_assets.lib.http.transport import PoolFetcher
from fleet_assets.sandbox import SandboxProcess

DATE = "2025-06-10"


@pytest.mark.parametrize("cls", [HttpFetcher, PoolFetcher])
def test_both_fetchers_give_the_same_outcome_for_a_page(sandbox, cls):
    url = f"{sandbox.url}/jobs/{DATE}/job/3"
    outcome = cls().fetch(url)
    reference = HttpFetcher().fetch(url)
    assert (outcome.status, outcome.body, outcome.error) == (200, reference.body, None)
    assert outcome.header("content-type", "").startswith("text/html")


def test_pool_fetcher_goes_through_the_proxy_it_is_given(sandbox):
    proxy = Proxy(sandbox.proxy_urls[1])
    outcome = PoolFetcher().fetch(f"{sandbox.url}/_admin/echo", proxy=proxy,
                                  headers={"X-Test": "yes"})
    seen = json.loads(outcome.body)["headers"]
    assert outcome.proxy_id == proxy.id
    assert seen["X-Test"] == "yes" and seen["X-Fleet-Client"] != "direct"


@pytest.mark.parametrize("cls", [HttpFetcher, PoolFetcher])
def test_transient_faults_and_resets_classify_as_a(sandbox, cls):
    sandbox.set_faults({"reset_rate": 1.0, "only_targets": ["jobs"]})
    reset = cls().fetch(f"{sandbox.url}/jobs/{DATE}/job/1")
    sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["jobs"]})
    five = cls().fetch(f"{sandbox.url}/jobs/{DATE}/job/1")
    assert reset.error is ErrorKind.CONNECTION_RESET and five.status in (500, 502, 503, 504)
    assert Taxonomy().classify(reset).failure is Taxonomy().classify(five).failure is FailureClass.TRANSIENT


def test_pool_fetcher_refused_connection_is_named():
    assert PoolFetcher().fetch("http://127.0.0.1:1/x").error is ErrorKind.CONNECTION_REFUSED


def test_proxy_credentials_are_sent_decoded_and_wrong_ones_are_b():
    with SandboxProcess(proxies=1, proxy_auth=("fleet", "s3 cr@t")) as sb:
        good = Proxy(sb.proxy_urls[0])  # user info is percent-encoded in the URL
        bad = Proxy(sb.proxy_urls[0].replace("fleet:", "other:"))
        ok = PoolFetcher().fetch(f"{sb.url}/jobs/{DATE}/job/1", proxy=good)
        denied = PoolFetcher().fetch(f"{sb.url}/jobs/{DATE}/job/1", proxy=bad)
    assert ok.status == 200
    assert denied.status == 407 and Taxonomy().classify(denied).failure is FailureClass.ENVIRONMENTAL
    assert "s3" not in repr(good) and "s3" not in str(ok)
