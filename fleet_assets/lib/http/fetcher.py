"""The one fetcher: origins, redirects, the body cap, the deadline and the one error table.

``HttpFetcher.fetch(url, proxy=None, headers=None) -> FetchOutcome`` never raises for what a
server or the network did; it raises ``ConfigError`` for what we did (bad settings, a proxy
scheme without its library, a library rejecting our request), so a local mistake fails the
step loudly and never becomes a tombstone. The transport (``transport.py``; urllib3 by
default, ``mock.MockTransport`` in tests) only sends one request.

Reads ``FetchSettings``: ``timeout_seconds`` (the deadline of the whole page: connect,
headers, body and redirects together), ``max_body_bytes`` (decoded size, so a gzip bomb
stops at the cap), ``max_redirects``, ``pool_size``, ``user_agent``; and the target's
``OriginPolicy`` (``origins.py``; default: the requested URL's own origin).

Redirects: 301/302/303/307/308 with a Location are followed by hand, each hop checked by the
policy: another origin (scheme, host *and* port) is ``offsite``, a Location that is not an
http(s) URL or carries a trick (backslash, user info) is ``redirect_refused``, a URL seen
before or more than ``max_redirects`` hops is ``redirect_loop``. The outcome keeps the final
URL and the chain (``FetchOutcome.final_url``, ``.redirects``). An instant
``<meta http-equiv="refresh">`` on a 200 is one more hop (``refresh.py``).

Blaming the proxy: a proxy *failed* only when the connection to it was never established
(refused, unreachable, its name unknown, or no connect within the deadline): that is
``proxy_error`` (B, rotate). Once the proxy accepted the request, a reset, a timeout or a
broken response is the site's, classified as if direct (``connection_reset``, A), so a
site's outage never burns healthy proxies. A proxy's own answer (407) is a status (B).

Malformed responses: a response whose framing cannot be trusted (conflicting
Content-Length values, a bad status line or header, a bad chunk size) is
``malformed_response`` (A, retried, never a tombstone), decided here for every transport:
the fetcher checks the header list itself, and urllib3's ``InvalidHeader`` maps to the same.
"""

from __future__ import annotations

import http.client
import math
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from urllib3 import exceptions as u3

from fleet_assets.lib.crawl.proxies import Proxy
from fleet_assets.lib.crawl.robots import FLEET_USER_AGENT
from fleet_assets.lib.failures import ConfigError, ErrorKind, FetchOutcome, FleetError
from fleet_assets.lib.http.deadline import Deadline
from fleet_assets.lib.http.origins import (
    BadURL,
    Offsite,
    OriginPolicy,
    ParsedURL,
    location_url,
    parse,
)
from fleet_assets.lib.http.refresh import refresh_target
from fleet_assets.lib.http.transport import Request, Response, Transport, Urllib3Transport

REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 65536


class Fetcher(Protocol):
    """What the crawler needs of a fetcher: one page, reported, never raised."""

    def fetch(self, url: str, proxy: Proxy | None = None,
              headers: Mapping[str, str] | None = None) -> FetchOutcome: ...


@dataclass(frozen=True)
class FetchSettings:
    timeout_seconds: float = 10.0
    max_body_bytes: int = 2_000_000
    max_redirects: int = 5
    pool_size: int = 16
    user_agent: str = FLEET_USER_AGENT

    def __post_init__(self) -> None:
        t = self.timeout_seconds
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
            raise ConfigError(f"timeout_seconds: {t!r} is not a number of seconds; set a finite "
                              "number > 0 (e.g. timeout_seconds: 10) in targets.yaml")
        for name, low in (("max_body_bytes", 1), ("max_redirects", 0), ("pool_size", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ConfigError(f"{name}: {v!r} is not an integer >= {low}")


class BodyTooLarge(FleetError):
    """A body over ``max_body_bytes``, declared or decoded (a gzip bomb stops at the cap)."""


class HttpFetcher:
    """The fleet's fetcher: one redirect loop, one body reader, one error table."""

    def __init__(self, settings: FetchSettings | None = None, transport: Transport | None = None,
                 origins: OriginPolicy | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = s = settings or FetchSettings()
        self.transport = transport or Urllib3Transport(s.pool_size, s.user_agent)
        self.origins, self.clock = origins, clock

    def fetch(self, url: str, proxy: Proxy | None = None,
              headers: Mapping[str, str] | None = None) -> FetchOutcome:
        deadline = Deadline(self.settings.timeout_seconds, self.clock)
        try:
            return self._fetch(url, proxy, dict(headers or {}), deadline)
        finally:
            deadline.finish()

    def _fetch(self, url: str, proxy: Proxy | None, headers: dict[str, str],
               deadline: Deadline) -> FetchOutcome:
        proxy_id = proxy.id if proxy is not None else None

        def failed(kind: ErrorKind, last: FetchOutcome | None = None) -> FetchOutcome:
            return FetchOutcome(url=url, status=last.status if last else None,
                                headers=last.headers if last else {}, body=None, error=kind,
                                proxy_id=proxy_id, final_url=last.final_url if last else None,
                                redirects=tuple(chain))

        chain: list[str] = []
        try:
            current = parse(url)
        except BadURL:
            return failed(ErrorKind.INVALID_URL)
        policy = self.origins or OriginPolicy(frozenset({current.origin}))
        if current.origin not in policy.origins:
            return failed(ErrorKind.OFFSITE)
        seen = {current.url}
        for _hop in range(self.settings.max_redirects + 1):
            outcome = self._one(url, current, headers, proxy, policy, deadline)
            refresh = (refresh_target(outcome, current.url, policy, seen)
                       if _hop < self.settings.max_redirects else None)
            if refresh is not None:  # an instant <meta refresh>: one more hop (refresh.py)
                chain.append(current.url)
                seen.add(refresh.url)
                current = refresh
                continue
            if outcome.error is not None or outcome.status not in REDIRECTS:
                return replace(outcome, redirects=tuple(chain)) if chain else outcome
            location = outcome.header("location")
            if not location:
                return replace(outcome, redirects=tuple(chain)) if chain else outcome
            try:
                nxt = policy.check(location_url(current.url, location))
            except BadURL:
                return failed(ErrorKind.REDIRECT_REFUSED, outcome)
            except Offsite:
                return failed(ErrorKind.OFFSITE, outcome)
            chain.append(current.url)
            if nxt.url in seen:
                return failed(ErrorKind.REDIRECT_LOOP, outcome)
            seen.add(nxt.url)
            current = nxt
        return failed(ErrorKind.REDIRECT_LOOP)

    def _one(self, url: str, current: ParsedURL, headers: dict[str, str], proxy: Proxy | None,
             policy: OriginPolicy, deadline: Deadline) -> FetchOutcome:
        proxy_id = proxy.id if proxy is not None else None
        if deadline.expired:
            return _outcome(url, None, {}, None, ErrorKind.READ_TIMEOUT, proxy_id, None)
        request = Request(url=current.url, origin=current.origin, headers=headers,
                          deadline=deadline, proxy=proxy, policy=policy, host=current.host,
                          request_uri=current.request_uri)
        try:
            resp = self.transport.send(request)
        except ConfigError:
            raise
        except Exception as exc:
            kind = ErrorKind.READ_TIMEOUT if deadline.expired else \
                error_kind(exc, proxied=proxy is not None, reading_body=False)
            if kind is None:
                if isinstance(exc, ValueError):
                    raise ConfigError(f"the HTTP client rejected a request to {current.url} "
                                      f"({type(exc).__name__}: {exc}); check the fetcher "
                                      "settings and proxies of this target") from exc
                raise
            return _outcome(url, None, {}, None, kind, proxy_id, None)
        merged = merge_headers(resp.headers)
        if length_conflict(resp.headers):
            resp.close()
            return _outcome(url, None, merged, None, ErrorKind.MALFORMED_RESPONSE, proxy_id,
                            current.url)
        body: bytes | None = None
        error: ErrorKind | None = None
        try:
            body = read_capped(resp, self.settings.max_body_bytes, merged, deadline)
        except BodyTooLarge:
            error = ErrorKind.TOO_LARGE
        except Exception as exc:
            error = ErrorKind.READ_TIMEOUT if deadline.expired \
                else error_kind(exc, proxied=proxy is not None, reading_body=True)
            if error is None:
                resp.close()
                raise
        finally:
            if error is None:
                resp.release()
            else:
                resp.close()  # a half-read connection must not go back to the pool
        return _outcome(url, resp.status, merged, body, error, proxy_id, current.url)

    def close(self) -> None:
        self.transport.close()


def _outcome(url: str, status: int | None, headers: Mapping[str, str], body: bytes | None,
             error: ErrorKind | None, proxy_id: str | None, final_url: str | None) -> FetchOutcome:
    return FetchOutcome(url=url, status=status, headers=headers, body=body if error is None else None,
                        error=error, proxy_id=proxy_id, final_url=final_url)


# -- the body -------------------------------------------------------------------------------------
def merge_headers(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Header list -> mapping; repeated fields joined with ", " (RFC 9110 5.3)."""
    out: dict[str, str] = {}
    lower: dict[str, str] = {}
    for key, value in pairs:
        first = lower.setdefault(key.lower(), key)
        out[first] = f"{out[first]}, {value}" if first in out else value
    return out


def length_conflict(pairs: Sequence[tuple[str, str]]) -> bool:
    """Two Content-Length values that differ (``5, 5`` is one value, RFC 9110 8.6)."""
    values = {v.strip() for k, raw in pairs if k.lower() == "content-length"
              for v in raw.split(",")}
    return len(values) > 1


def read_capped(resp: Response, cap: int, headers: Mapping[str, str], deadline: Deadline) -> bytes:
    declared = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
    if declared and declared.strip().isdigit() and int(declared) > cap:
        raise BodyTooLarge
    parts: list[bytes] = []
    size = 0
    for chunk in resp.stream(CHUNK):
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge
        parts.append(chunk)
        if deadline.expired:
            raise TimeoutError("the page's deadline passed")  # read_timeout, like a slow socket
    return b"".join(parts)


# -- the one table from transport exceptions to ErrorKind ----------------------------------------
_NEVER_CONNECTED = (u3.NewConnectionError, u3.ConnectTimeoutError, u3.NameResolutionError,
                    ConnectionRefusedError, socket.gaierror)
_MALFORMED = (u3.InvalidHeader, u3.InvalidChunkLength, u3.HeaderParsingError,
              http.client.LineTooLong, http.client.UnknownProtocol, http.client.BadStatusLine)
_BROKEN = (u3.ProtocolError, u3.IncompleteRead, http.client.HTTPException, OSError)


def error_kind(exc: BaseException, *, proxied: bool, reading_body: bool) -> ErrorKind | None:
    """The ``ErrorKind`` of an exception from a transport; ``None`` when it is not the network's.

    Rows apply in order (the first whose type appears in the exception's cause chain wins):

    =============================================  ==============================
    Offsite (resolved to a refused address)        offsite
    BadURL, LocationParseError/ValueError          invalid_url
    InvalidHeader, bad status line or chunk size   malformed_response
    (never connected) while proxied                proxy_error
    NameResolutionError, gaierror                  dns
    ConnectionRefusedError                         connection_refused
    ConnectTimeoutError                            connect_timeout
    ReadTimeoutError, TimeoutError                 read_timeout
    SSLError                                       tls_error
    DecodeError                                    decode_error
    reset, broken pipe, ProtocolError, OSError     truncated_body while reading the body,
                                                   else connection_reset
    ValueError while reading the body              malformed_response
    =============================================  ==============================
    """
    chain = _chain(exc)

    def has(*types: type) -> bool:
        return any(isinstance(c, types) for c in chain)

    remote_disconnected = has(http.client.RemoteDisconnected)
    if has(Offsite):
        return ErrorKind.OFFSITE
    if has(BadURL, u3.LocationParseError, u3.LocationValueError) and not has(u3.ProxySchemeUnknown):
        return ErrorKind.INVALID_URL
    if has(*_MALFORMED) and not remote_disconnected:
        return ErrorKind.MALFORMED_RESPONSE
    if proxied and has(*_NEVER_CONNECTED):
        return ErrorKind.PROXY_ERROR
    if has(u3.NameResolutionError, socket.gaierror):
        return ErrorKind.DNS
    if has(ConnectionRefusedError):
        return ErrorKind.CONNECTION_REFUSED
    if has(u3.ConnectTimeoutError) and not has(u3.NewConnectionError):
        return ErrorKind.CONNECT_TIMEOUT
    if has(u3.ReadTimeoutError, TimeoutError):
        return ErrorKind.READ_TIMEOUT
    if has(u3.SSLError, ssl.SSLError):
        return ErrorKind.TLS_ERROR
    if has(u3.DecodeError):
        return ErrorKind.DECODE_ERROR
    if has(*_BROKEN):
        return ErrorKind.TRUNCATED_BODY if reading_body else ErrorKind.CONNECTION_RESET
    if reading_body and has(ValueError):
        return ErrorKind.MALFORMED_RESPONSE
    return None


def _chain(exc: BaseException, limit: int = 20) -> list[BaseException]:
    """The exception, its causes, and exceptions wrapped in args (urllib3 wraps that way)."""
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(out) < limit:
        cur = todo.pop()
        if any(cur is seen for seen in out):
            continue
        out.append(cur)
        todo.extend(e for e in (cur.__cause__, cur.__context__) if e is not None)
        todo.extend(a for a in cur.args if isinstance(a, BaseException))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return out


__all__ = ["BodyTooLarge", "FetchSettings", "Fetcher", "HttpFetcher", "error_kind",
           "length_conflict", "merge_headers"]
