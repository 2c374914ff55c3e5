"""The urllib3 transport under the one fetcher, against the sandbox, its proxies and local servers."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.failures import ConfigError, ErrorKind, FailureClass
from fleet_assets.lib.http.fetcher import FetchSettings, HttpFetcher
from fleet_assets.lib.taxonomy import Taxonomy
from fleet_assets.sandbox import SandboxProcess

DATE = "2025-06-10"


def test_a_page_keeps_what_the_server_said(sandbox):
    outcome = HttpFetcher().fetch(f"{sandbox.url}/jobs/{DATE}/job/3")
    assert (outcome.status, outcome.error) == (200, None) and outcome.body
    assert outcome.header("content-type", "").startswith("text/html")
    assert outcome.final_url == f"{sandbox.url}/jobs/{DATE}/job/3" and outcome.redirects == ()


def test_the_fetcher_goes_through_the_proxy_it_is_given(sandbox):
    proxy = Proxy(sandbox.proxy_urls[1])
    outcome = HttpFetcher().fetch(f"{sandbox.url}/_admin/echo", proxy=proxy,
                                  headers={"X-Test": "yes"})
    seen = json.loads(outcome.body)["headers"]
    assert outcome.proxy_id == proxy.id
    assert seen["X-Test"] == "yes" and seen["X-Fleet-Client"] != "direct"


def test_transient_faults_and_resets_classify_as_a(sandbox):
    sandbox.set_faults({"reset_rate": 1.0, "only_targets": ["jobs"]})
    reset = HttpFetcher().fetch(f"{sandbox.url}/jobs/{DATE}/job/1")
    sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["jobs"]})
    five = HttpFetcher().fetch(f"{sandbox.url}/jobs/{DATE}/job/1")
    assert reset.error is ErrorKind.CONNECTION_RESET and five.status in (500, 502, 503, 504)
    assert Taxonomy().classify(reset).failure is Taxonomy().classify(five).failure is FailureClass.TRANSIENT


def test_refused_connection_is_named():
    assert HttpFetcher().fetch("http://127.0.0.1:1/x").error is ErrorKind.CONNECTION_REFUSED


def test_proxy_credentials_are_sent_decoded_and_wrong_ones_are_b():
    with SandboxProcess(proxies=1, proxy_auth=("fleet", "s3 cr@t")) as sb:
        good = Proxy(sb.proxy_urls[0])  # user info is percent-encoded in the URL
        bad = Proxy(sb.proxy_urls[0].replace("fleet:", "other:"))
        ok = HttpFetcher().fetch(f"{sb.url}/jobs/{DATE}/job/1", proxy=good)
        denied = HttpFetcher().fetch(f"{sb.url}/jobs/{DATE}/job/1", proxy=bad)
    assert ok.status == 200
    assert denied.status == 407 and Taxonomy().classify(denied).failure is FailureClass.ENVIRONMENTAL
    assert "s3" not in repr(good) and "s3" not in str(ok)


def test_a_socks_proxy_without_pysocks_is_a_configuration_error(sandbox):
    try:
        import socks  # noqa: F401
        pytest.skip("PySocks is installed here")
    except ImportError:
        pass
    with pytest.raises(ConfigError, match="PySocks"):
        HttpFetcher().fetch(f"{sandbox.url}/jobs/{DATE}/job/1", proxy=Proxy("socks5://127.0.0.1:1080"))
    assert sandbox.stats()["total"] == 0


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0, -1, True])
def test_a_nonsense_timeout_is_a_configuration_error(timeout):
    with pytest.raises(ConfigError, match="timeout_seconds"):
        FetchSettings(timeout_seconds=timeout)


class Drip:
    """A raw socket server that answers one byte per ``interval`` seconds, forever."""

    def __init__(self, interval: float = 1.0, headers_first: bool = True) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow"
        self.interval, self.headers_first = interval, headers_first
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
            try:
                if self.headers_first:
                    conn.sendall(head)
                    head = b""
                for byte in head + b"x" * 100000:
                    if self.stop.wait(self.interval):
                        return
                    conn.sendall(bytes([byte]) if isinstance(byte, int) else byte)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("headers_first", [True, False], ids=["body", "headers"])
def test_a_one_byte_per_second_page_ends_at_its_deadline(headers_first):
    drip = Drip(interval=0.5, headers_first=headers_first)
    try:
        started = time.monotonic()
        outcome = HttpFetcher(FetchSettings(timeout_seconds=2)).fetch(drip.url)
        elapsed = time.monotonic() - started
    finally:
        drip.close()
    assert outcome.error is ErrorKind.READ_TIMEOUT and outcome.body is None
    assert Taxonomy().classify(outcome).failure is FailureClass.TRANSIENT
    assert elapsed < 2 + 5  # the deadline plus a generous margin for a busy machine


def test_a_dripping_page_leaves_the_crawl_attempt_at_its_deadline(tmp_path):
    from fleet_assets.lib import manifest as mf
    from fleet_assets.lib.crawl.crawler import PartitionCrawler
    from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
    from fleet_assets.lib.http.origins import target_policy
    from fleet_assets.lib.store.local import LocalObjectStore
    from fleet_assets.lib.targets import parse_targets

    drip = Drip(interval=1.0)
    try:
        target = parse_targets({"targets": [{
            "name": "t", "urls": [drip.url], "timeout_seconds": 2,
            "politeness": {"obey_robots": False},
            "record": {"fields": {"a": {"css": "h1"}}, "required": ["a"]}}]})["t"]
        fetcher = HttpFetcher(FetchSettings(timeout_seconds=target.timeout_seconds),
                              origins=target_policy(target))
        started = time.monotonic()
        result = PartitionCrawler(target, DATE, LocalObjectStore(tmp_path), fetcher, Taxonomy(),
                                  dict(DEFAULT_POLICIES)).run()
        elapsed = time.monotonic() - started
    finally:
        drip.close()
    (entry,) = result.entries
    assert entry.status == mf.PENDING and entry.failure_class == "A"
    assert "read_timeout" in entry.reason
    assert elapsed < 2 + 5  # the page's deadline plus a generous margin, not 100,000 s
