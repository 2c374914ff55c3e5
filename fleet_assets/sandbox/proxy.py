"""Local HTTP forward proxies: each one tags what it forwards with its own client id.

Proxy ``i`` listens on its own loopback port, accepts absolute-form requests
(``GET http://127.0.0.1:8787/shop/... HTTP/1.1``, keep-alive, no CONNECT), and forwards them
with ``X-Fleet-Client: proxy-<i>`` so the site can ban, CAPTCHA or count that client.

* Only loopback destinations (127.0.0.0/8, ::1, ``localhost``) are forwarded; anything else
  is refused with 403 before any name lookup, so nothing ever leaves this machine.
* With ``auth=(user, password)``, a missing or wrong Basic ``Proxy-Authorization`` gets 407;
  the header is never forwarded.
* Upstream faults pass through: a reset becomes a reset, a truncated body stays truncated.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from fleet_assets.sandbox.server import CLIENT_HEADER, abort_with_reset

_NO_AUTO_HEADERS = ("User-Agent", "Accept-Encoding")
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _authorized(header: str | None, auth: tuple[str, str]) -> bool:
    if not header or not header.lower().startswith("basic "):
        return False
    try:
        given = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = f"{auth[0]}:{auth[1]}".encode()
    return hmac.compare_digest(given, expected)


def _text(status: int, text: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers=headers)


def make_proxy_app(
    index: int, session: aiohttp.ClientSession, auth: tuple[str, str] | None = None
) -> web.Application:
    client_id = f"proxy-{index}"

    async def forward(request: web.Request) -> web.StreamResponse:
        if auth and not _authorized(request.headers.get("Proxy-Authorization"), auth):
            return _text(
                407,
                "Proxy authentication required",
                **{"Proxy-Authenticate": 'Basic realm="fleet-sandbox"'},
            )
        if request.method == "CONNECT":
            return _text(405, "CONNECT is not supported by the sandbox proxy")
        if not request.raw_path.startswith("http://"):
            return _text(400, "Send absolute-form requests (GET http://host:port/path)")
        url = URL(request.raw_path, encoded=True)
        if not is_loopback(url.host):
            return _text(403, "The sandbox proxy forwards to loopback hosts only")
        headers = CIMultiDict(
            (k, v)
            for k, v in request.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != CLIENT_HEADER.lower()
        )
        headers[CLIENT_HEADER] = client_id
        data = await request.read() if request.body_exists else None
        try:
            async with session.request(
                request.method,
                url,
                headers=headers,
                data=data,
                allow_redirects=False,
                skip_auto_headers=_NO_AUTO_HEADERS,
            ) as upstream:
                chunks = []
                try:
                    async for chunk in upstream.content.iter_any():
                        chunks.append(chunk)
                except aiohttp.ClientPayloadError:
                    return await _relay_truncated(request, upstream, b"".join(chunks))
                out = CIMultiDict(
                    (k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP
                )
                out["Via"] = f"1.1 fleet-sandbox-{client_id}"
                return web.Response(
                    status=upstream.status,
                    reason=upstream.reason,
                    body=b"".join(chunks),
                    headers=out,
                )
        except aiohttp.ClientConnectorError:
            return _text(502, "Upstream unreachable")
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
            abort_with_reset(request)
            raise asyncio.CancelledError from None
        except TimeoutError:
            return _text(504, "Upstream timed out")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


async def _relay_truncated(
    request: web.Request, upstream: aiohttp.ClientResponse, partial: bytes
) -> web.StreamResponse:
    stream = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    for k, v in upstream.headers.items():
        if k.lower() not in HOP_BY_HOP:
            stream.headers.add(k, v)
    stream.content_length = upstream.content_length
    await stream.prepare(request)
    await stream.write(partial)
    if request.transport is not None:
        request.transport.close()
    return stream


@dataclass
class ProxyPool:
    """Running proxies; ``urls[i]`` is proxy ``i`` (without credentials)."""

    urls: list[str] = field(default_factory=list)
    _runners: list[web.AppRunner] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        if self._session is not None:
            await self._session.close()


async def start_proxies(
    count: int, auth: tuple[str, str] | None = None, ports: list[int] | None = None
) -> ProxyPool:
    """Start ``count`` proxies on 127.0.0.1 (ports 0 = any free port)."""
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
    session = aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=120),
    )
    # aiohttp retries an idempotent request once after a reset on a reused connection; a
    # proxy must pass the site's reset through instead of hiding it (aiohttp's own
    # test_utils turns this off the same way).
    session._retry_connection = False
    pool = ProxyPool(_session=session)
    for i in range(count):
        runner = web.AppRunner(make_proxy_app(i, session, auth), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", (ports or [0] * count)[i], backlog=1024)
        await site.start()
        port = runner.addresses[0][1]
        pool.urls.append(f"http://127.0.0.1:{port}")
        pool._runners.append(runner)
    return pool
