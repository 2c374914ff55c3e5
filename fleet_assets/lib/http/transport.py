"""A faster HTTP transport with the same interface as ``fetch.HttpFetcher``, on bare urllib3.

``PoolFetcher.fetch(url, proxy=None, headers=None) -> FetchOutcome`` behaves like
``HttpFetcher.fetch`` (same redirect checks, size cap, error kinds) but skips the work
``requests`` does on every call: building a ``PreparedRequest``, merging session settings,
cookie jars, hooks, ``environ`` proxy lookup and its ``Response`` wrapper. Profiling a
16-thread fetch of the sandbox showed about two thirds of the client's CPU time there
(see BENCHMARKS.md), and on a 2-core machine the client's CPU time is the throughput.

One ``PoolManager`` (thread-safe) is shared by all threads; each proxy gets its own
``ProxyManager``, created once, with ``Proxy-Authorization`` built from the URL's user info
(percent-decoded, as ``requests`` does) so credentials never appear in a header we log.

Reads ``FetchSettings``: ``timeout_seconds``, ``max_body_bytes`` (decoded size, so a gzip
bomb stops at the cap), ``max_redirects``, ``pool_size``, ``user_agent``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from urllib3 import exceptions as u3

from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.failures import ErrorKind, FetchOutcome
from fleet_assets.lib.http.fetcher import BodyTooLarge, FetchSettings, check_declared, join_capped

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class PoolFetcher:
    """Fetches URLs through one shared urllib3 pool (plus one pool per proxy)."""

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self.settings = s = settings or FetchSettings()
        self._timeout = urllib3.Timeout(connect=s.timeout_seconds, read=s.timeout_seconds)
        self._base_headers = {"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"}
        self._direct = urllib3.PoolManager(num_pools=16, maxsize=s.pool_size, block=False,
                                           retries=False)
        self._proxied: dict[str, urllib3.ProxyManager] = {}
        self._lock = threading.Lock()

    def _manager(self, proxy: Proxy | None) -> urllib3.PoolManager:
        if proxy is None:
            return self._direct
        mgr = self._proxied.get(proxy.url)
        if mgr is None:
            with self._lock:
                mgr = self._proxied.get(proxy.url)
                if mgr is None:
                    parts = urlsplit(proxy.url)
                    proxy_headers = None
                    if parts.username is not None:
                        auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
                        proxy_headers = urllib3.make_headers(proxy_basic_auth=auth)
                    bare = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()
                    mgr = urllib3.ProxyManager(bare, num_pools=16, maxsize=self.settings.pool_size,
                                               block=False, retries=False,
                                               proxy_headers=proxy_headers)
                    self._proxied[proxy.url] = mgr
        return mgr

    def fetch(self, url: str, proxy: Proxy | None = None,
              headers: Mapping[str, str] | None = None) -> FetchOutcome:
        proxy_id = proxy.id if proxy is not None else None
        mgr = self._manager(proxy)
        req_headers = {**self._base_headers, **(headers or {})}
        origin_host = urlsplit(url).hostname
        current, seen = url, {url}
        for _hop in range(self.settings.max_redirects + 1):
            outcome = self._one(mgr, url, current, req_headers, proxy_id)
            if outcome.status not in _REDIRECTS or outcome.error is not None:
                return outcome
            location = outcome.header("location")
            if not location:
                return outcome
            nxt = urljoin(current, location)
            parts = urlsplit(nxt)
            if parts.hostname != origin_host or parts.scheme not in ("http", "https"):
                return FetchOutcome(url=url, status=outcome.status, headers=outcome.headers,
                                    body=None, error=ErrorKind.REDIRECT_REFUSED, proxy_id=proxy_id)
            if nxt in seen:
                return FetchOutcome(url=url, status=outcome.status, headers=outcome.headers,
                                    body=None, error=ErrorKind.REDIRECT_LOOP, proxy_id=proxy_id)
            seen.add(nxt)
            current = nxt
        return FetchOutcome(url=url, status=None, headers={}, body=None,
                            error=ErrorKind.REDIRECT_LOOP, proxy_id=proxy_id)

    def _one(self, mgr: urllib3.PoolManager, url: str, current: str,
             headers: dict[str, str], proxy_id: str | None) -> FetchOutcome:
        try:
            resp = mgr.request("GET", current, headers=headers, preload_content=False,
                               redirect=False, retries=False, timeout=self._timeout)
        except Exception as exc:  # noqa: BLE001 - every transport error becomes an ErrorKind
            return FetchOutcome(url=url, status=None, headers={}, body=None,
                                error=_request_error_kind(exc), proxy_id=proxy_id)
        resp_headers = dict(resp.headers)
        error: ErrorKind | None = None
        body: bytes | None = None
        try:
            body = _read_capped(resp, self.settings.max_body_bytes)
        except BodyTooLarge:
            error = ErrorKind.TOO_LARGE
        except u3.DecodeError:
            error = ErrorKind.DECODE_ERROR
        except (u3.ReadTimeoutError, TimeoutError):
            error = ErrorKind.READ_TIMEOUT
        except (u3.ProtocolError, u3.IncompleteRead, OSError):
            error = ErrorKind.TRUNCATED_BODY
        finally:
            if error is None:
                resp.release_conn()
            else:
                resp.close()  # a half-read connection must not go back to the pool
        return FetchOutcome(url=url, status=resp.status, headers=resp_headers, body=body,
                            error=error, proxy_id=proxy_id)

    def close(self) -> None:
        self._direct.clear()
        for mgr in self._proxied.values():
            mgr.clear()


def _read_capped(resp: urllib3.BaseHTTPResponse, cap: int) -> bytes:
    check_declared(resp.headers, cap)
    declared = resp.headers.get("Content-Length")
    if resp.headers.get("Content-Encoding") is None and declared and declared.isdigit():
        # The common case: one read of a known, capped length (no chunk loop in Python).
        data = resp.read(decode_content=True)
        if len(data) > cap:
            raise BodyTooLarge
        return data
    return join_capped(resp.stream(65536, decode_content=True), cap)


def _request_error_kind(exc: BaseException) -> ErrorKind:
    if isinstance(exc, u3.ProxyError):
        return ErrorKind.PROXY_ERROR
    if isinstance(exc, (u3.LocationParseError, u3.URLSchemeUnknown, ValueError)):
        return ErrorKind.INVALID_URL
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2.x, but names a refused or
    # unresolvable connection; a real connect timeout is raised as ConnectTimeoutError itself.
    if isinstance(exc, u3.ConnectTimeoutError) and not isinstance(exc, u3.NewConnectionError):
        return ErrorKind.CONNECT_TIMEOUT
    if isinstance(exc, u3.ReadTimeoutError):
        return ErrorKind.READ_TIMEOUT
    if isinstance(exc, u3.SSLError):
        return ErrorKind.TLS_ERROR
    if isinstance(exc, u3.NameResolutionError | socket.gaierror):
        return ErrorKind.DNS
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return ErrorKind.CONNECTION_REFUSED
        if isinstance(cause, socket.gaierror | u3.NameResolutionError):
            return ErrorKind.DNS
        cause = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
    return ErrorKind.CONNECTION_RESET


__all__ = ["PoolFetcher"]
