"""The one fetcher names transport errors (the proxy's fault or the site's) and never turns a local
mistake into a tombstone."""

from __future__ import annotations

import socket
from dataclasses import replace

import dagster as dg
import pytest
from retry_support import FAST, run, targets_file

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.crawl.retry import DEFAULT_POLICIES
from fleet_assets.lib.failures import A, B, ConfigError, ErrorKind
from fleet_assets.lib.http.fetcher import FetchSettings, HttpFetcher, error_kind
from fleet_assets.lib.http.mock import MockTransport, Scripted
from fleet_assets.lib.http.origins import target_policy
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.lib.taxonomy import Taxonomy
from fleet_assets.resources.fetcher import FetcherResource

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


# -- a local mistake is a configuration error, never "the site is gone" ---------------------------
def _tombstones(home) -> list[str]:
    return [str(p) for p in home.rglob("*") if p.is_file()
            and (p.name.endswith(".gone.json.gz") or "tombstones" in p.parts)]


def test_an_unsupported_proxy_fails_the_step_as_configuration_and_writes_no_tombstone(
        fleet_env, sandbox, tmp_path):
    try:
        import socks  # noqa: F401
        pytest.skip("PySocks is installed here")
    except ImportError:
        pass
    fetcher = FetcherResource(**FAST, proxies=["socks5://127.0.0.1:1080"])
    with dg.instance_for_test() as instance:
        result = run(instance, "2025-06-10", "jobs", targets_file(tmp_path), fetcher=fetcher)
        failures = [e for e in result.all_events if e.event_type is dg.DagsterEventType.STEP_FAILURE]
    assert not result.success
    message = str(failures[0].step_failure_data.error)
    assert "ConfigError" in message and "PySocks" in message
    assert _tombstones(fleet_env) == []
    assert sandbox.stats()["total"] == 0


def test_a_nan_timeout_is_a_configuration_error_and_writes_no_tombstone(fleet_env, sandbox, tmp_path):
    target = replace(load_targets(targets_file(tmp_path))["jobs"], timeout_seconds=float("nan"))
    with pytest.raises(ConfigError, match="timeout_seconds"):
        FetcherResource().http(target)  # the first thing raw_pages does with the target
    with pytest.raises(ConfigError, match="timeout_seconds"):
        PartitionCrawler(target, "2025-06-10", LocalObjectStore(fleet_env),
                         HttpFetcher(FetchSettings(timeout_seconds=target.timeout_seconds)),
                         Taxonomy(), dict(DEFAULT_POLICIES)).run()
    assert _tombstones(fleet_env) == [] and sandbox.stats()["total"] == 0


def test_a_reset_through_a_healthy_proxy_is_the_sites_in_the_error_table():
    """The table itself: never connected to the proxy -> proxy_error; connected -> the site's."""
    import urllib3.exceptions as u3

    reset = u3.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    refused = u3.ProxyError("Unable to connect to proxy",
                            u3.NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    assert error_kind(reset, proxied=True, reading_body=False) is ErrorKind.CONNECTION_RESET
    assert error_kind(reset, proxied=True, reading_body=True) is ErrorKind.TRUNCATED_BODY
    assert error_kind(refused, proxied=True, reading_body=False) is ErrorKind.PROXY_ERROR
    assert error_kind(u3.NewConnectionError(None, "refused"),  # type: ignore[arg-type]
                      proxied=False, reading_body=False) is not ErrorKind.PROXY_ERROR


def test_a_value_error_from_the_client_is_a_configuration_error():
    class Broken:
        def send(self, request):
            raise ValueError("Invalid header value b'x\\n'")

        def close(self):
            pass

    with pytest.raises(ConfigError, match="rejected a request"):
        HttpFetcher(transport=Broken()).fetch("http://127.0.0.1:1/x")  # type: ignore[arg-type]


def test_the_page_deadline_covers_the_body_with_a_fake_clock():
    now = [0.0]
    transport = MockTransport({"http://h.test/slow": Scripted(200, b"x" * 100, chunk=1,
                                                              delay_per_chunk=1.0)},
                              advance=lambda s: now.__setitem__(0, now[0] + s))
    fetcher = HttpFetcher(FetchSettings(timeout_seconds=10), transport=transport,
                          clock=lambda: now[0])
    outcome = fetcher.fetch("http://h.test/slow")
    assert outcome.error is ErrorKind.READ_TIMEOUT and 10 <= now[0] <= 11


# -- what the server said is kept in the manifest --------------------------------------------------
def test_the_manifest_keeps_final_url_redirects_and_headers(tmp_path):
    target = load_targets(targets_file(tmp_path, jobs={
        "urls": ["http://h.test/a/{date}"], "politeness": {"obey_robots": False}}))["jobs"]
    page = b'<html><h1 class="title">T</h1><span class="company">C</span></html>'
    transport = MockTransport({
        "http://h.test/a/2025-06-10": Scripted.redirect("/b/2025-06-10", 301),
        "http://h.test/b/2025-06-10": Scripted(200, page, (
            ("Content-Type", "text/html; charset=windows-1251"), ("Content-Language", "ru"),
            ("ETag", 'W/"7"'), ("Last-Modified", "Tue, 10 Jun 2025 08:00:00 GMT"))),
    })
    fetcher = HttpFetcher(transport=transport, origins=target_policy(target))
    store = LocalObjectStore(tmp_path / "home")
    result = PartitionCrawler(target, "2025-06-10", store, fetcher, Taxonomy(),
                              dict(DEFAULT_POLICIES)).run()
    (entry,) = mf.loads(store.get(keys.manifest_key("jobs", "2025-06-10")))
    assert entry == result.entries[0] and entry.status == mf.STORED
    assert entry.url == "http://h.test/a/2025-06-10"
    assert entry.final_url == "http://h.test/b/2025-06-10"
    assert entry.redirects == ("http://h.test/a/2025-06-10",)
    assert (entry.content_type, entry.content_language, entry.etag, entry.last_modified) == (
        "text/html; charset=windows-1251", "ru", 'W/"7"', "Tue, 10 Jun 2025 08:00:00 GMT")


def test_an_old_manifest_stays_readable():
    old = (b'{"attempts":1,"bytes":5,"content_sha256":"ab","due_at":null,"failure_class":null,'
           b'"fetched_at":"2025-06-10T00:00:00+00:00","http_status":200,"natural_key":"k",'
           b'"object_key":"o","reason":"","status":"stored","url":"http://h.test/x"}\n')
    (entry,) = mf.loads(old)
    assert entry.final_url is None and entry.redirects == () and entry.etag is None
    assert mf.loads(mf.dumps([entry])) == [entry]
