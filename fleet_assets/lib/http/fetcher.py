"""One HTTP fetch with ``requests``, reported as a ``FetchOutcome`` (never an exception).

Reads: ``timeout_seconds`` (connect and read), ``max_body_bytes`` (decoded size cap, so a
gzip bomb stops at the cap), ``max_redirects`` and the proxy chosen by the caller. Redirects
are followed by hand so that each hop is checked: only the same host, never a loop.
A ``requests`` ``ProxyError`` is split by ``_proxy_kind``: a proxy that cannot be reached
is ``proxy_error`` (B, rotate); a reset or broken response relayed by a reachable proxy is
``connection_reset`` / ``read_timeout`` (A, wait).
Sessions are per thread (connection pooling without sharing a Session across threads).
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.crawl.robots import FLEET_USER_AGENT
from fleet_assets.lib.failures import ErrorKind, FetchOutcome, FleetError

_REDIRECTS = {301, 302, 303, 307, 308}


class Fetcher(Protocol):
    """What the crawler needs of a fetcher: one request, reported, never raised."""

    def fetch(self, url: str, proxy: Proxy | None = None,
              headers: Mapping[str, str] | None = None) -> FetchOutcome: ...


@dataclass(frozen=True)
class FetchSettings:
    timeout_seconds: float = 10.0
    max_body_bytes: int = 2_000_000
    max_redirects: int = 5
    pool_size: int = 16
    user_agent: str = FLEET_USER_AGENT


class HttpFetcher:
    """Fetches URLs with pooled, per-thread ``requests`` sessions."""

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self.settings = settings or FetchSettings()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.settings.pool_size,
                                  max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = self.settings.user_agent
            session.trust_env = False
            self._local.session = session
        return session

    def fetch(self, url: str, proxy: Proxy | None = None,
              headers: Mapping[str, str] | None = None) -> FetchOutcome:
        proxies = {"http": proxy.url, "https": proxy.url} if proxy is not None else None
        proxy_id = proxy.id if proxy is not None else None
        current = url
        seen = {url}
        for _hop in range(self.settings.max_redirects + 1):
            outcome = self._one(url, current, proxies, proxy_id, headers)
            if outcome.status not in _REDIRECTS or outcome.error is not None:
                return outcome
            location = outcome.headers.get("location") or outcome.headers.get("Location")
            if not location:
                return outcome
            nxt = urljoin(current, location)
            if urlsplit(nxt).hostname != urlsplit(url).hostname or urlsplit(nxt).scheme not in (
                "http", "https"
            ):
                return FetchOutcome(url=url, status=outcome.status, headers=outcome.headers,
                                    body=None, error=ErrorKind.REDIRECT_REFUSED,
                                    proxy_id=proxy_id)
            if nxt in seen:
                return FetchOutcome(url=url, status=outcome.status, headers=outcome.headers,
                                    body=None, error=ErrorKind.REDIRECT_LOOP, proxy_id=proxy_id)
            seen.add(nxt)
            current = nxt
        return FetchOutcome(url=url, status=None, headers={}, body=None,
                            error=ErrorKind.REDIRECT_LOOP, proxy_id=proxy_id)

    def _one(self, url: str, current: str, proxies: dict[str, str] | None,
             proxy_id: str | None, headers: Mapping[str, str] | None) -> FetchOutcome:
        s = self.settings
        try:
            resp = self._session().get(
                current, proxies=proxies, headers=dict(headers or {}), stream=True,
                allow_redirects=False, timeout=(s.timeout_seconds, s.timeout_seconds),
            )
        except requests.exceptions.ProxyError as exc:
            return self._err(url, _proxy_kind(exc), proxy_id)
        except requests.exceptions.ConnectTimeout:
            return self._err(url, ErrorKind.CONNECT_TIMEOUT, proxy_id)
        except requests.exceptions.ReadTimeout:
            return self._err(url, ErrorKind.READ_TIMEOUT, proxy_id)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, ValueError):
            return self._err(url, ErrorKind.INVALID_URL, proxy_id)
        except requests.exceptions.ConnectionError as exc:
            return self._err(url, _connection_kind(exc), proxy_id)
        except requests.exceptions.RequestException:
            return self._err(url, ErrorKind.CONNECTION_RESET, proxy_id)
        with resp:
            resp_headers = dict(resp.headers)
            try:
                body = _read_capped(resp, s.max_body_bytes)
            except BodyTooLarge:
                return FetchOutcome(url=url, status=resp.status_code, headers=resp_headers,
                                    body=None, error=ErrorKind.TOO_LARGE, proxy_id=proxy_id)
            except (requests.exceptions.ChunkedEncodingError,
                    urllib3.exceptions.ProtocolError, urllib3.exceptions.IncompleteRead):
                return FetchOutcome(url=url, status=resp.status_code, headers=resp_headers,
                                    body=None, error=ErrorKind.TRUNCATED_BODY, proxy_id=proxy_id)
            except (TimeoutError, requests.exceptions.ConnectionError, urllib3.exceptions.ReadTimeoutError):
                return FetchOutcome(url=url, status=resp.status_code, headers=resp_headers,
                                    body=None, error=ErrorKind.READ_TIMEOUT, proxy_id=proxy_id)
            except (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError):
                return FetchOutcome(url=url, status=resp.status_code, headers=resp_headers,
                                    body=None, error=ErrorKind.DECODE_ERROR, proxy_id=proxy_id)
        return FetchOutcome(url=url, status=resp.status_code, headers=resp_headers, body=body,
                            error=None, proxy_id=proxy_id)

    @staticmethod
    def _err(url: str, kind: ErrorKind, proxy_id: str | None) -> FetchOutcome:
        return FetchOutcome(url=url, status=None, headers={}, body=None, error=kind,
                            proxy_id=proxy_id)

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()


class BodyTooLarge(FleetError):
    """A body over ``max_body_bytes``, declared or decoded (a gzip bomb stops at the cap)."""


def check_declared(headers: Mapping[str, str], cap: int) -> None:
    declared = headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge


def join_capped(chunks: Iterable[bytes], cap: int) -> bytes:
    """Join decoded chunks, stopping as soon as they pass ``cap``."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge
        parts.append(chunk)
    return b"".join(parts)


def _read_capped(resp: requests.Response, cap: int) -> bytes:
    check_declared(resp.headers, cap)
    return join_capped(resp.raw.stream(65536, decode_content=True), cap)


def _connection_kind(exc: BaseException) -> ErrorKind:
    """Name the transport error behind a requests ConnectionError (its cause chain)."""
    for cause in _chain(exc):
        if isinstance(cause, (socket.gaierror, urllib3.exceptions.NameResolutionError)):
            return ErrorKind.DNS
        if isinstance(cause, ConnectionRefusedError):
            return ErrorKind.CONNECTION_REFUSED
    return ErrorKind.CONNECTION_RESET


def _proxy_kind(exc: BaseException) -> ErrorKind:
    """Blame the proxy only when the proxy itself could not be reached.

    urllib3 wraps every error of a proxied request in ``ProxyError("Unable to connect to
    proxy", ...)``, including a reset that the proxy relays from the site. Only a connection
    to the proxy that was never established (refused, no route, name unknown, connect
    timeout) is the proxy's fault (B, rotate); a reset or a broken response after the proxy
    accepted the request is the site's noise (A, wait), and burning a healthy proxy for it
    would empty the pool during an outage of the site.
    """
    chain = _chain(exc, limit=20)
    for cause in chain:
        if isinstance(cause, (urllib3.exceptions.NewConnectionError,
                              urllib3.exceptions.ConnectTimeoutError,
                              urllib3.exceptions.NameResolutionError,
                              ConnectionRefusedError, socket.gaierror)):
            return ErrorKind.PROXY_ERROR
    for cause in chain:
        if isinstance(cause, (TimeoutError, urllib3.exceptions.ReadTimeoutError)):
            return ErrorKind.READ_TIMEOUT
    for cause in chain:
        if isinstance(cause, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
                              urllib3.exceptions.ProtocolError, http.client.RemoteDisconnected,
                              http.client.IncompleteRead)):
            return ErrorKind.CONNECTION_RESET
    return ErrorKind.PROXY_ERROR


def _chain(exc: BaseException, limit: int = 10) -> list[BaseException]:
    """The exception, its causes, and exceptions wrapped in args (urllib3 wraps that way)."""
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(out) < limit:
        cur = todo.pop()
        if cur in out:
            continue
        out.append(cur)
        todo.extend(e for e in (cur.__cause__, cur.__context__) if e is not None)
        todo.extend(a for a in cur.args if isinstance(a, BaseException))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return out
