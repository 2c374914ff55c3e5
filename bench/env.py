"""Shared plumbing of the benchmarks: the bench targets file, fleet homes, the two ways to run a
partition (a Dagster run, or the same work called as a library), and the machine description.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import platform
import random
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import CrawlResult, PartitionCrawler
from fleet_assets.lib.extract import extract_record
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import Target, load_targets

DATE = "2025-06-10"
# The bench days are in 2025: the partitions (read at import, here and in child processes)
# must start before them.
os.environ.setdefault("FLEET_START_DATE", "2025-01-01")
SHOP_FIELDS = {
    "sku": {"css": "span.sku", "type": "str"},
    "title": {"xpath": "//h1[@class='title']", "type": "str"},
    "price": {"css": "span.price", "type": "float"},
    "in_stock": {"css": "span.stock", "attr": "data-in-stock", "type": "bool"},
    "rating": {"css": "span.rating", "type": "float"},
    "image": {"css": "img.main", "attr": "src", "type": "str"},
}


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}"}


def write_targets(path: Path, sandbox_url: str, concurrency: int = 16,
                  max_attempts: int = 10) -> Path:
    """The shop target of targets.yaml, with the benchmark's concurrency and attempt budget."""
    doc = {
        "targets": [{
            "name": "shop",
            "listing": {"start_url": f"{sandbox_url}/shop/{{date}}/catalog",
                        "link": {"css": "a.product-link", "attr": "href"},
                        "next_page": {"css": "a.next", "attr": "href"}, "max_pages": 5000},
            "record": {"id": "sku", "fields": SHOP_FIELDS,
                       "required": ["sku", "title", "price", "in_stock"]},
            "politeness": {"max_concurrency": concurrency, "requests_per_second": 0,
                           "obey_robots": True},
            "retry": {"A": {"max_attempts": max_attempts}, "B": {"max_attempts": max_attempts}},
        }],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@contextlib.contextmanager
def fleet_home(home: Path, targets: Path, sandbox_url: str) -> Iterator[Path]:
    """FLEET_HOME / DAGSTER_HOME / FLEET_TARGETS pointed at ``home`` for the block."""
    saved = {k: os.environ.get(k) for k in ("FLEET_HOME", "DAGSTER_HOME", "FLEET_TARGETS",
                                            "FLEET_SANDBOX_URL", "FLEET_PROXIES")}
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(FLEET_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"),
                      FLEET_TARGETS=str(targets), FLEET_SANDBOX_URL=sandbox_url)
    os.environ.pop("FLEET_PROXIES", None)
    try:
        yield home
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def resources(backoff_scale: float = 0.01, **fetcher: object) -> dict:
    from fleet_assets.resources import build_resources
    from fleet_assets.resources.fetcher import FetcherResource

    res = build_resources("local")
    res["fetcher"] = FetcherResource(backoff_scale=backoff_scale, **fetcher)
    return res


# Events still go to the instance's event log; only the console echo of each one is off.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def dagster_run(instance, target: str = "shop", date: str = DATE,
                selection: tuple[str, ...] = ("raw_pages", "extracted_records"),
                res: dict | None = None):
    """One Dagster run of the partition (in-process executor, as ``dagster asset materialize``)."""
    import dagster as dg

    from fleet_assets.assets import ALL
    from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key

    instance.add_dynamic_partitions(TARGETS_PARTITIONS, [target])
    return dg.materialize(ALL, selection=list(selection), partition_key=partition_key(date, target),
                          instance=instance, resources=res or resources(), raise_on_error=False,
                          run_config=QUIET)


def library_run(target: Target, home: Path, date: str = DATE) -> tuple[CrawlResult, int]:
    """The same work as raw_pages + extracted_records, called directly (no Dagster)."""
    res = resources()
    fetcher = res["fetcher"]
    store = LocalObjectStore(home)
    crawler = PartitionCrawler(target=target, date=date, store=store, fetcher=fetcher.http(target),
                               taxonomy=fetcher.taxonomy(target), policies=fetcher.policies(target),
                               proxies=None, rng=random.Random(0))
    result = crawler.run()
    rows = extract_rows(store, target, date, result.entries)
    store.put(keys.table_key("records", target.name, date), tables.to_parquet("records", rows))
    res["warehouse"].ensure_views([target])
    return result, len(rows)


def extract_rows(store: LocalObjectStore, target: Target, date: str,
                 entries: tuple[mf.ManifestEntry, ...]) -> list[dict]:
    rows = []
    for e in entries:
        if e.status != mf.STORED:
            continue
        ex = extract_record(gzip.decompress(store.get(e.object_key or "")), target.record, e.url)
        if ex.complete:
            ident = ex.values.get(target.record.id_field or "")
            rows.append({"natural_key": e.natural_key,
                         "item_key": keys.item_key(target.name, str(ident or e.url)),
                         "target": target.name, "date": date, "url": e.url,
                         "content_sha256": e.content_sha256,
                         "data": json.dumps(ex.values, sort_keys=True, ensure_ascii=False)})
    return rows


def shop_target(targets: Path) -> Target:
    return load_targets(targets)["shop"]


def best(fn, repeat: int = 3, clock=time.perf_counter) -> float:
    """The shortest of ``repeat`` timings of ``fn()`` by ``clock`` (wall clock unless told),
    in seconds."""
    times = []
    for _ in range(repeat):
        started = clock()
        fn()
        times.append(clock() - started)
    return min(times)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
