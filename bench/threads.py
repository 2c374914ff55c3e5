"""How the crawl's threads and processes share 2 cores: the figures of BENCHMARKS.md item 6.

    python -m bench.threads [--pages 5000] [--skip-processes]

Each line is a ratio of two timings taken back to back in this run (best of 3, wall clock):

- ``parse``: 300 pages of Python's docs parsed in two threads with one shared lxml parser
  against one parser per thread (``extract.thread_parser``);
- ``suspect``: the suspect check (``crawl/suspects.yields_required_early``) over the same
  pages in 16 threads against one thread;
- ``store``: 5,000 ``put_if_absent`` from 16 threads, the portable temp name + link + unlink
  against the unnamed file (``O_TMPFILE``) linked at the key;
- ``extract``: ``extract_partition`` in two threads against one, on the docs pages and on
  the sandbox's 4.5 KB product pages (why ``records.extract_threads`` uses threads only for
  large pages);
- ``processes``: the sandbox's shop crawled by one process of 16 threads against two
  processes of 8 threads, each crawling half the pages (two partitions), from one sandbox.

Needs Debian's python3.11-doc for the docs pages (skipped without it). Prints one line each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lxml import html

from bench.env import best
from bench.real_corpus import DOCS_ROOT, docs_targets
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl import suspects
from fleet_assets.lib.extract import PARSER_OPTIONS, thread_parser
from fleet_assets.lib.records import extract_partition
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import RecordRules, load_targets

DOCS = DOCS_ROOT / "library"


def in_threads(n: int, fn: Callable[[bytes], object], items: Iterable) -> None:
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(fn, items))


def line(name: str, ours: float, theirs: float, what: str) -> None:
    print(f"{name:<10} {what}: {theirs:.3f} s -> {ours:.3f} s ({theirs / ours:.2f}x)", flush=True)


def docs_rules(tmp: Path) -> RecordRules:
    return load_targets(docs_targets(tmp / "docs.yaml", "http://127.0.0.1:1"))["docs"].record


def parse_and_suspect(bodies: list[bytes], rules: RecordRules) -> None:
    shared = html.HTMLParser(**PARSER_OPTIONS)
    one = best(lambda: in_threads(2, lambda b: html.document_fromstring(b, parser=shared), bodies))
    own = best(lambda: in_threads(2, lambda b: html.document_fromstring(b, parser=thread_parser()),
                                  bodies))
    line("parse", own, one, f"{len(bodies)} doc pages in 2 threads, shared parser -> one each")
    check = lambda b: suspects.yields_required_early(b, rules, "http://h/p", "text/html")  # noqa: E731
    single = best(lambda: in_threads(1, check, bodies))
    many = best(lambda: in_threads(16, check, bodies))
    print(f"suspect    {len(bodies)} doc pages: 1 thread {single:.3f} s, 16 threads {many:.3f} s "
          f"({many / single:.2f}x of one thread's time)", flush=True)


def store(tmp: Path, n: int = 5000) -> None:
    data = gzip.compress(b"<html>" + b"x" * 4000 + b"</html>", 3)

    def fill(portable: bool) -> float:
        s = LocalObjectStore(Path(tempfile.mkdtemp(dir=tmp)))
        if portable:
            s._no_unnamed.set()
        started = time.perf_counter()
        in_threads(16, lambda i: s.put_if_absent(f"raw/shop/d/{i:064x}.html.gz", data), range(n))
        return time.perf_counter() - started

    portable = min(fill(True) for _ in range(2))
    unnamed = min(fill(False) for _ in range(2))
    line("store", unnamed, portable, f"{n} put_if_absent in 16 threads, temp+link+unlink -> unnamed")


def extract(name: str, bodies: list[bytes], rules: RecordRules) -> None:
    entries = [mf.ManifestEntry(url=f"http://h/{i}", natural_key=hashlib.sha256(b).hexdigest(),
                                status=mf.STORED, object_key=f"k{i}", bytes=len(b))
               for i, b in enumerate(bodies)]
    read = dict(zip((e.url for e in entries), bodies, strict=True))
    run = lambda n: extract_partition(entries, lambda e: read[e.url], rules, "t", "2025-06-10",  # noqa: E731
                                      threads=n)
    one, two = best(lambda: run(1)), best(lambda: run(2))
    line("extract", two, one, f"{len(bodies)} {name}, 1 -> 2 threads")


_CHILD = """
import random, sys, time
from pathlib import Path
from bench.env import fleet_home, resources, shop_target, write_targets
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.store.local import LocalObjectStore
url, home, date, threads = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
home.mkdir(parents=True, exist_ok=True)
targets = write_targets(home / "targets.yaml", url, threads)
with fleet_home(home, targets, url):
    fetcher, target = resources()["fetcher"], shop_target(targets)
    crawler = PartitionCrawler(target=target, date=date, store=LocalObjectStore(home),
                               fetcher=fetcher.http(target), taxonomy=fetcher.taxonomy(target),
                               policies=fetcher.policies(target), rng=random.Random(0))
    print("ready", flush=True)
    sys.stdin.readline()
    print(len(crawler.run().entries), flush=True)
"""


def processes(tmp: Path, pages: int) -> None:
    from fleet_assets.sandbox import SandboxProcess

    def crawl(procs: int) -> float:
        with SandboxProcess(shop_items=pages // procs) as sandbox:
            children = [subprocess.Popen(
                [sys.executable, "-c", _CHILD, sandbox.url, str(tmp / f"p{procs}-{i}"),
                 (dt.date(2025, 6, 10) + dt.timedelta(days=i)).isoformat(), str(16 // procs)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for i in range(procs)]
            for child in children:
                assert child.stdout.readline().strip() == "ready"
            started = time.perf_counter()
            for child in children:
                child.stdin.write("\n")
                child.stdin.flush()
            crawled = sum(int(child.stdout.readline()) for child in children)
            seconds = time.perf_counter() - started
            for child in children:
                child.wait(30)
        print(f"           {procs} process(es): {crawled} pages in {seconds:.2f} s", flush=True)
        return seconds

    one = crawl(1)
    two = crawl(2)
    line("processes", two, one, f"~{pages} shop pages, 1 x 16 threads -> 2 x 8 threads")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=5000)
    ap.add_argument("--skip-processes", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fleet-threads-") as tmpdir:
        tmp = Path(tmpdir)
        if DOCS.is_dir():
            bodies = [p.read_bytes() for p in sorted(DOCS.glob("*.html"))[:300]]
            rules = docs_rules(tmp)
            parse_and_suspect(bodies, rules)
            extract("doc pages", bodies[:300], rules)
        else:
            print(f"({DOCS} missing: no docs figures; apt-get install python3.11-doc)")
        from bench.env import shop_target, write_targets
        from fleet_assets.sandbox import shop

        day = dt.date(2025, 6, 10)
        shop_pages = [shop.product_page(day, sku, args.pages, False)
                      for sku in shop.catalog(day, args.pages)]
        shop_rules = shop_target(write_targets(tmp / "shop.yaml", "http://127.0.0.1:1")).record
        extract("shop pages", [p for p in shop_pages if p], shop_rules)
        store(tmp)
        if not args.skip_processes:
            processes(tmp, args.pages)


if __name__ == "__main__":
    main()
