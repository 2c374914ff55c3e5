"""The transport protocol (one request, no redirects, a streamed body) and its urllib3 implementation.

A ``Transport`` sends one ``Request`` and returns a ``Response`` whose body is read by the
fetcher (``fetcher.py``), or raises the exception the HTTP stack raised: the one table from
those exceptions to ``ErrorKind`` lives in the fetcher, so every transport is judged alike.
``mock.MockTransport`` scripts responses and exceptions for tests; the contract suite
(``fleet_assets_tests/contract/test_transports.py``) holds both to the same behaviour.

``Urllib3Transport`` (the default): one thread-safe ``PoolManager`` for direct requests and
one ``ProxyManager`` per proxy (``Proxy-Authorization`` built from the URL's percent-decoded
user info, so credentials never sit in a header we log). Its connection class does two
things the pool cannot: it attaches itself to the request's ``Deadline`` (so a dripping
server is cut) and, for a direct connection, checks the address it actually connected to
against the target's ``OriginPolicy`` (so a name resolving to a private address is refused
after resolution, not before). ``socks5://`` proxies need PySocks; without it the transport
raises ``ConfigError`` naming the proxy setting and the fix. Limits: through a proxy the
peer is the proxy, so the address check is the proxy's network's business; SOCKS pools use
urllib3's own connection classes, so there the deadline is checked between body chunks only.

Reads ``FetchSettings`` through the fetcher: ``pool_size``, ``user_agent``.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.http.deadline import Deadline
from fleet_assets.lib.http.origins import Offsite, Origin, OriginPolicy


@dataclass(frozen=True)
class Request:
    url: str  # already parsed and checked (``origins.parse``)
    origin: Origin
    headers: Mapping[str, str]
    deadline: Deadline
    proxy: Proxy | None = None
    policy: OriginPolicy | None = field(default=None, compare=False)
    host: str = ""  # urllib3's spelling of the host and the request line, from the one parse
    request_uri: str = ""


class Response(Protocol):
    status: int
    headers: Sequence[tuple[str, str]]  # as received, duplicates kept

    def stream(self, amt: int) -> Iterator[bytes]:
        """The decoded body in chunks (Content-Encoding undone)."""
        ...

    def release(self) -> None:
        """The body was read whole: the connection may serve another request."""
        ...

    def close(self) -> None:
        """Abandon the response (half read, or over the cap): never reuse the connection."""
        ...


class Transport(Protocol):
    def send(self, request: Request) -> Response: ...

    def close(self) -> None: ...


# -- urllib3 ------------------------------------------------------------------------------------
_current = threading.local()  # the Request being sent on this thread, for the connection class


class _Watched:
    """Mixin for urllib3 connections: deadline and peer-address checks for the current request."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        req: Request | None = getattr(_current, "request", None)
        if req is None or req.policy is None or req.proxy is not None:
            return  # through a proxy the peer is the proxy, chosen by the operator
        peer = self.sock.getpeername()[0]  # type: ignore[attr-defined]
        if not req.policy.peer_allowed(req.origin, peer):
            self.close()  # type: ignore[attr-defined]
            raise Offsite(f"{req.origin.host} resolved to {peer}, a private or reserved "
                          "address; name an IP literal origin to reach a private host")

    def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        req: Request | None = getattr(_current, "request", None)
        if req is not None:
            req.deadline.attach(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


@dataclass
class Urllib3Response:
    raw: urllib3.BaseHTTPResponse
    status: int = 0
    headers: Sequence[tuple[str, str]] = ()

    def __post_init__(self) -> None:
        self.status = self.raw.status
        self.headers = list(self.raw.headers.items())

    def stream(self, amt: int) -> Iterator[bytes]:
        return self.raw.stream(amt, decode_content=True)

    def release(self) -> None:
        self.raw.release_conn()

    def close(self) -> None:
        self.raw.close()


class Urllib3Transport:
    """Pooled urllib3: one manager for direct requests, one per proxy."""

    def __init__(self, pool_size: int = 16, user_agent: str | None = None) -> None:
        self.pool_size = pool_size
        self._base = {"Accept-Encoding": "gzip, deflate"}
        if user_agent:
            self._base["User-Agent"] = user_agent
        self._direct = self._managed(urllib3.PoolManager(num_pools=16, maxsize=pool_size,
                                                         block=False, retries=False))
        self._proxied: dict[str, urllib3.PoolManager] = {}
        self._lock = threading.Lock()
        self._timeouts: dict[int, urllib3.Timeout] = {}

    @staticmethod
    def _managed(mgr: urllib3.PoolManager) -> urllib3.PoolManager:
        mgr.pool_classes_by_scheme = dict(_POOLS)  # type: ignore[assignment]
        return mgr

    def _manager(self, proxy: Proxy | None) -> urllib3.PoolManager:
        if proxy is None:
            return self._direct
        mgr = self._proxied.get(proxy.url)
        if mgr is None:
            with self._lock:
                mgr = self._proxied.get(proxy.url)
                if mgr is None:
                    mgr = self._proxied[proxy.url] = self._proxy_manager(proxy)
        return mgr

    def _proxy_manager(self, proxy: Proxy) -> urllib3.PoolManager:
        parts = urlsplit(proxy.url)
        bare = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()
        scheme = parts.scheme.lower()
        if scheme.startswith("socks"):
            try:
                with warnings.catch_warnings():  # the ConfigError below says it better
                    warnings.simplefilter("ignore")
                    from urllib3.contrib.socks import SOCKSProxyManager
            except ImportError:
                raise ConfigError(
                    f"proxies: {proxy} is a SOCKS proxy but PySocks is not installed; "
                    "install it (pip install 'urllib3[socks]') or use an http:// proxy"
                ) from None
            return SOCKSProxyManager(proxy.url, num_pools=16, maxsize=self.pool_size,
                                     retries=False)
        if scheme not in ("http", "https"):
            raise ConfigError(f"proxies: {proxy} has scheme {scheme!r}; use http://, https:// "
                              "or socks5:// (with PySocks)")
        headers = None
        if parts.username is not None:
            auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers = urllib3.make_headers(proxy_basic_auth=auth)
        return self._managed(urllib3.ProxyManager(bare, num_pools=16, maxsize=self.pool_size,
                                                  block=False, retries=False,
                                                  proxy_headers=headers))

    def send(self, request: Request) -> Urllib3Response:
        mgr = self._manager(request.proxy)
        timeout = self._timeout(request.deadline.remaining())
        headers = {**self._base, **request.headers}
        _current.request = request
        try:
            if request.proxy is None and request.host and request.request_uri:
                # Direct: the URL was parsed once already; go to its pool without parsing again.
                pool = mgr.connection_from_host(request.host, request.origin.port,
                                                request.origin.scheme)
                raw = pool.urlopen("GET", request.request_uri, headers=headers,
                                   preload_content=False, redirect=False, retries=False,
                                   assert_same_host=False, timeout=timeout)
            else:
                raw = mgr.urlopen("GET", request.url, headers=headers, preload_content=False,
                                  redirect=False, retries=False, timeout=timeout)
        finally:
            _current.request = None
        return Urllib3Response(raw)

    def _timeout(self, remaining: float) -> urllib3.Timeout:
        """Socket timeouts are only a backstop (the deadline's watchdog cuts a slow page), so
        they are the remaining time rounded up to a whole second, one object per value."""
        seconds = max(1, math.ceil(remaining))
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = urllib3.Timeout(connect=seconds, read=seconds)
        return timeout

    def close(self) -> None:
        self._direct.clear()
        for mgr in self._proxied.values():
            mgr.clear()


__all__ = ["Request", "Response", "Transport", "Urllib3Response", "Urllib3Transport"]
