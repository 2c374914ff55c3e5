"""Run the site and its proxies in one event loop: ``start_sandbox`` (async) and ``serve``.

Everything binds 127.0.0.1 only. Port 0 picks a free port; the actual URLs are reported
in ``RunningSandbox`` and, for other processes, in the JSON port file
``{"url": "http://127.0.0.1:PORT", "proxies": ["http://127.0.0.1:PORT", ...]}``
written atomically once every listener accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from fleet_assets.sandbox.faults import Faults
from fleet_assets.sandbox.proxy import ProxyPool, start_proxies
from fleet_assets.sandbox.server import SiteOptions, make_app
from fleet_assets.settings import SANDBOX_PORT

HOST = "127.0.0.1"
DEFAULT_PORT = SANDBOX_PORT


@dataclass
class RunningSandbox:
    url: str
    proxy_urls: list[str]
    app: web.Application
    _runner: web.AppRunner
    _proxies: ProxyPool

    async def close(self) -> None:
        await self._proxies.close()
        await self._runner.cleanup()


async def start_sandbox(
    port: int = DEFAULT_PORT,
    proxies: int = 0,
    *,
    faults: Faults | dict | None = None,
    shop_items: int = 40,
    proxy_auth: tuple[str, str] | None = None,
) -> RunningSandbox:
    if not isinstance(faults, Faults):
        faults = Faults.from_dict(faults)
    runner = web.AppRunner(
        make_app(faults, SiteOptions(shop_items=shop_items)), access_log=None, handle_signals=False
    )
    await runner.setup()
    await web.TCPSite(runner, HOST, port, backlog=2048).start()
    url = f"http://{HOST}:{runner.addresses[0][1]}"
    pool = await start_proxies(proxies, proxy_auth)
    return RunningSandbox(url, pool.urls, runner.app, runner, pool)


def write_port_file(path: str | Path, sandbox: RunningSandbox) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"url": sandbox.url, "proxies": sandbox.proxy_urls}))
    os.replace(tmp, path)


def serve(
    port: int = DEFAULT_PORT,
    proxies: int = 0,
    *,
    faults: Faults | dict | None = None,
    shop_items: int = 40,
    proxy_auth: tuple[str, str] | None = None,
    port_file: str | Path | None = None,
    quiet: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM (the ``fleet sandbox`` command and ``-m`` entry point)."""

    async def main() -> None:
        sandbox = await start_sandbox(
            port, proxies, faults=faults, shop_items=shop_items, proxy_auth=proxy_auth
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if port_file:
            write_port_file(port_file, sandbox)
        if not quiet:
            print(f"sandbox site: {sandbox.url}", flush=True)
            for i, proxy_url in enumerate(sandbox.proxy_urls):
                print(f"proxy-{i}: {proxy_url}", flush=True)
        try:
            await stop.wait()
        finally:
            await sandbox.close()

    try:
        import uvloop
    except ImportError:
        uvloop = None
    with contextlib.suppress(KeyboardInterrupt):
        if uvloop is not None:
            uvloop.run(main())
        else:
            asyncio.run(main())
