"""The sandbox web site as an aiohttp application: routing, fault injection, admin API.

Site routes (see shop.py, news.py, jobs.py for each layout)::

    GET /robots.txt                      never faulted
    GET /shop/{date}/catalog?page=N      GET /shop/{date}/product/{sku}
    GET /news/{date}/                    GET /news/{date}/article/{slug}
    GET /jobs/{date}/job/{n}

Admin routes (never faulted, never counted)::

    GET  /_admin/faults        current knobs          POST /_admin/faults   replace knobs (JSON)
    GET  /_admin/stats         request counters       POST /_admin/reset-stats
    GET  /_admin/echo          the request headers as the site received them
    GET  /_admin/health        {"ok": true}
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import struct
import time
from dataclasses import dataclass

from aiohttp import web

from fleet_assets.sandbox import jobs, news, shop, sites
from fleet_assets.sandbox.faults import Faults, FaultState
from fleet_assets.sandbox.seeded import parse_date
from fleet_assets.sandbox.stats import Stats

CLIENT_HEADER = "X-Fleet-Client"


@dataclass(frozen=True)
class SiteOptions:
    """Server-wide content settings (not faults: they do not change at runtime)."""

    shop_items: int = 40


FAULTS = web.AppKey("faults", FaultState)
STATS = web.AppKey("stats", Stats)
OPTIONS = web.AppKey("options", SiteOptions)


def _html(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="text/html", charset="utf-8")


def _not_found(status: int = 404) -> web.Response:
    return _html(sites.error_page(status), status)


def abort_with_reset(request: web.BaseRequest) -> None:
    """Close the socket with RST (SO_LINGER 0), so the client sees 'connection reset'."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _truncated(request: web.Request, response: web.Response) -> web.StreamResponse:
    body = response.body
    stream = web.StreamResponse(
        status=200, headers={"Content-Type": response.content_type + "; charset=utf-8"}
    )
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()
    return stream


def _retry_after(seconds: int, form: str) -> str:
    if form == "http-date":
        return email.utils.formatdate(time.time() + seconds, usegmt=True)
    return str(seconds)


@web.middleware
async def faults_and_stats(request: web.Request, handler) -> web.StreamResponse:
    path = request.path
    if path.startswith("/_admin/"):
        return await handler(request)
    stats = request.app[STATS]
    stats.arrive()
    try:
        return await _faulted(request, handler)
    finally:
        stats.leave()


async def _faulted(request: web.Request, handler) -> web.StreamResponse:
    path = request.path
    state, stats = request.app[FAULTS], request.app[STATS]
    target = path.split("/", 2)[1]
    client = request.headers.get(CLIENT_HEADER, "direct")
    verdict = state.choose(target, client) if target != "robots.txt" else None
    kind = verdict.kind if verdict else None
    if verdict and verdict.delay:
        await asyncio.sleep(verdict.delay)
    if kind == "reset":
        stats.record(target, client, "reset", kind)
        abort_with_reset(request)
        raise asyncio.CancelledError  # nothing may be written on the aborted connection
    if kind in ("ban", "require_client"):
        response = _html(sites.error_page(403), 403)
    elif kind == "captcha":
        response = _html(sites.captcha_page())
    elif target != "robots.txt" and state.interstitial(target, request.path_qs):
        kind = "interstitial"
        response = _html(sites.interstitial_page())
    elif kind in ("transient", "rate_limit"):
        response = _html(sites.error_page(verdict.status), verdict.status)
        if kind == "rate_limit":
            faults = state.faults
            response.headers["Retry-After"] = _retry_after(
                faults.retry_after, faults.retry_after_form
            )
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            stats.record(target, client, exc.status, kind)
            raise
        kind = request.get("fault", kind)
        if kind == "truncate" and response.status == 200:
            stats.record(target, client, response.status, kind)
            return await _truncated(request, response)
    stats.record(target, client, response.status, kind)
    return response


def _date(request: web.Request):
    date = parse_date(request.match_info["date"])
    if date is None:
        raise web.HTTPNotFound(text="no such date (YYYY-MM-DD, 2020-01-01 or later)\n")
    return date


def _item(request: web.Request, target: str, item: str, body: bytes | None) -> web.Response:
    if body is None:
        return _not_found()
    gone = request.app[FAULTS].gone(target, item)
    if gone:
        request["fault"] = "gone"
        return _not_found(gone)
    return _html(body)


async def robots(request: web.Request) -> web.Response:
    return web.Response(
        body=sites.robots_txt(request.app[FAULTS].faults),
        content_type="text/plain",
        charset="utf-8",
    )


async def shop_catalog(request: web.Request) -> web.Response:
    date = _date(request)
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        return _not_found()
    body = shop.catalog_page(date, page, request.app[OPTIONS].shop_items)
    return _html(body) if body is not None else _not_found()


async def shop_product(request: web.Request) -> web.Response:
    date, sku = _date(request), request.match_info["sku"]
    drifted = request.app[FAULTS].drifted("shop", date)
    body = shop.product_page(date, sku, request.app[OPTIONS].shop_items, drifted)
    return _item(request, "shop", sku, body)


async def news_index(request: web.Request) -> web.Response:
    return _html(news.index_page(_date(request)))


async def news_article(request: web.Request) -> web.Response:
    date, slug = _date(request), request.match_info["slug"]
    body = news.article_page(date, slug, request.app[FAULTS].drifted("news", date))
    return _item(request, "news", slug, body)


async def jobs_job(request: web.Request) -> web.Response:
    date, n = _date(request), request.match_info["n"]
    if not n.isdigit():
        return _not_found()
    body = jobs.job_page(date, int(n), request.app[FAULTS].drifted("jobs", date))
    return _item(request, "jobs", n, body)


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS].faults.to_dict())


async def set_faults(request: web.Request) -> web.Response:
    try:
        faults = Faults.from_dict(await request.json())
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    request.app[FAULTS].set(faults)
    return web.json_response(faults.to_dict())


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].snapshot())


async def reset_stats(request: web.Request) -> web.Response:
    request.app[STATS].reset()
    return web.json_response({"ok": True})


async def echo(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path_qs, "headers": dict(request.headers)})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def make_app(faults: Faults | None = None, options: SiteOptions | None = None) -> web.Application:
    app = web.Application(middlewares=[faults_and_stats])
    app[FAULTS] = FaultState(faults)
    app[STATS] = Stats()
    app[OPTIONS] = options or SiteOptions()
    app.router.add_routes(
        [
            web.get("/robots.txt", robots),
            web.get("/shop/{date}/catalog", shop_catalog),
            web.get("/shop/{date}/product/{sku}", shop_product),
            web.get("/news/{date}/", news_index),
            web.get("/news/{date}", news_index),
            web.get("/news/{date}/article/{slug}", news_article),
            web.get("/jobs/{date}/job/{n}", jobs_job),
            web.get("/_admin/faults", get_faults),
            web.post("/_admin/faults", set_faults),
            web.get("/_admin/stats", get_stats),
            web.post("/_admin/reset-stats", reset_stats),
            web.get("/_admin/echo", echo),
            web.get("/_admin/health", health),
        ]
    )
    return app
