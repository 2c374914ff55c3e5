"""The real-corpus figure: HTML nobody on the team wrote, the whole user command vs Scrapy.

    python -m bench.real_corpus [--root /usr/share/doc/python3.11/html] [--days 1]

The corpus is Debian's ``python3.11-doc`` (the CPython documentation, ~480 pages linked from
``contents.html``, ~100 KB each) served by a static aiohttp server in a child process. The
fleet side is the command a user types, timed from the shell: ``fleet demo --target docs``
(CLI start, instance, sandbox, the runs, warehouse views); the Scrapy side is the whole
``python -m bench.scrapy_spider docs`` process (same links, same concurrency, robots.txt
obeyed, the page title extracted, a JSON-lines feed). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

DOCS_ROOT = Path("/usr/share/doc/python3.11/html")
CONCURRENCY = 16


def _serve(root: str, port: int) -> None:
    from aiohttp import web

    app = web.Application()
    app.router.add_static("/", root, show_index=False, follow_symlinks=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class DocsServer:
    """The documentation tree over HTTP on a free loopback port, in a child process."""

    def __init__(self, root: Path) -> None:
        if not (root / "contents.html").is_file():
            raise SystemExit(f"{root}/contents.html not found: install Debian's python3.11-doc "
                             "(apt-get install python3.11-doc) or pass --root")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc = mp.get_context("spawn").Process(target=_serve, args=(str(root), self.port),
                                                     daemon=True)

    def __enter__(self) -> DocsServer:
        self._proc.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("the docs server did not start")

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.join(10)


def docs_targets(path: Path, url: str) -> Path:
    doc = {"targets": [{
        "name": "docs",
        "listing": {"start_url": f"{url}/contents.html",
                    "link": {"css": "a.reference.internal", "attr": "href"}, "max_pages": 1},
        "record": {"fields": {"title": {"css": "h1", "type": "str"}}, "required": ["title"]},
        "politeness": {"max_concurrency": CONCURRENCY, "requests_per_second": 0,
                       "obey_robots": True},
        "max_body_bytes": 5_000_000,
    }]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                           f"\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


def measure(root: Path = DOCS_ROOT, days: int = 1, workers: int = 2) -> dict:
    with tempfile.TemporaryDirectory(prefix="fleet-docs-") as tmpdir, DocsServer(root) as server:
        tmp = Path(tmpdir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "DAGSTER_"))}
        env.update(FLEET_HOME=str(tmp / "home"), DAGSTER_HOME=str(tmp / "home" / "dagster_home"),
                   FLEET_TARGETS=str(docs_targets(tmp / "targets.yaml", server.url)),
                   FLEET_START_DATE="2025-01-01")
        scrapy_seconds, items = 0.0, 0
        for day in range(days):  # a Scrapy user crawls the site once per day too
            seconds, printed = _timed(
                [sys.executable, "-m", "bench.scrapy_spider", "docs",
                 f"{server.url}/contents.html", str(tmp / f"scrapy-{day}.jsonl"),
                 str(CONCURRENCY)], env)
            scrapy_seconds += seconds
            items += json.loads(printed.strip().splitlines()[-1])["items"]
        fleet = [sys.executable, "-m", "fleet_assets.cli.main", "demo", "--target", "docs",
                 "--days", str(days), "--end", "2025-06-10", "--workers", str(workers),
                 "--sandbox-port", "0"]
        fleet_seconds, fleet_out = _timed(fleet, env)
        stored = sum(int(line.split("pages=")[1].split()[0]) for line in fleet_out.splitlines()
                     if " ok " in line and "pages=" in line)  # the runs that ingested
    return {"fleet_seconds": fleet_seconds, "fleet_pages": stored, "days": days,
            "scrapy_seconds": scrapy_seconds, "scrapy_items": items,
            "ratio": scrapy_seconds / fleet_seconds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=DOCS_ROOT)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(json.dumps(measure(args.root, args.days, args.workers)))


if __name__ == "__main__":
    main()
