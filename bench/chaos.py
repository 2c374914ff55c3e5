"""``make chaos``: a crawl under every fault at once, its worker killed with SIGKILL, then checked.

    python -m bench.chaos --pages 5000 --kills 2 [--seed 1] [--json]

1. A sandbox with 3 proxies serves ~``pages`` item pages over several days and the three
   targets of targets.yaml (retry budget raised: ``RETRY``), with 15% 5xx + 5% connection
   resets (20% transient), 2% proxy bans (403), 2% 429s with ``Retry-After: 1`` and 2% pages
   gone (404/410).
2. A worker process materializes ``raw_pages`` + ``extracted_records`` for every partition,
   one Dagster run each, on a persistent DAGSTER_HOME, through the proxies. The parent kills
   it with SIGKILL ``kills`` times at random moments (when a random share of the pages is
   stored), then resumes the way a user would: it re-executes every partition (complete ones
   cost nothing) until a round ends with every run successful.
3. With the faults off (gone pages still gone) it fetches every page directly and verifies:
   pages lost (a live page without its stored, byte-identical body and its record), records
   duplicated, 404s without a tombstone (the tombstones table when present, else a ``gone``
   manifest entry with its evidence object), stale partial objects (temp files, objects that
   are not complete gzip). Exit status 1 unless all four are 0.

Listing walks are discovered before the faults are switched on, so that the fault mix and
the counts above are about item pages; the pages themselves get every fault.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.sandbox import SandboxProcess

REPO = Path(__file__).resolve().parents[1]
START = "2025-06-01"
os.environ.setdefault("FLEET_START_DATE", "2025-01-01")  # the worker's partitions include START
# The repository's targets with a larger attempt budget: with bans and 429s each burning a
# proxy, an attempt ends as soon as all 3 proxies are cooling down, so B needs more attempts.
RETRY = {"A": {"max_attempts": 10}, "B": {"max_attempts": 30}}


def faults(seed: int) -> dict:
    return {"seed": seed, "transient_rate": 0.15, "reset_rate": 0.05, "ban_rate": 0.02,
            "rate_limit_rate": 0.02, "retry_after": 1, "gone_rate": 0.02}


def write_targets(path: Path) -> Path:
    import yaml

    doc = yaml.safe_load((REPO / "targets.yaml").read_text())
    doc.setdefault("defaults", {})["retry"] = RETRY
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def plan(pages: int) -> tuple[int, list[tuple[str, str]]]:
    """(shop_items, partitions): about ``pages`` item pages over days x 3 targets."""
    import datetime as dt

    days = max(2, round(pages / 1000))
    shop_items = max(20, pages // days - 25)  # news has ~10 articles a day, jobs 15
    first = dt.date.fromisoformat(START)
    dates = [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]
    return shop_items, [(d, t) for d in dates for t in ("shop", "news", "jobs")]


def _env(home: Path, sandbox_url: str, proxies: list[str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(FLEET_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"),
               FLEET_TARGETS=str(home.parent / "targets.yaml"), FLEET_SANDBOX_URL=sandbox_url,
               FLEET_PROXIES=",".join(proxies),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    return env


def worker(partitions: list[tuple[str, str]]) -> int:
    """One user session: a Dagster run per partition; prints one JSON line per run."""
    import dagster as dg

    from bench.env import dagster_run, resources

    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    res = resources(backoff_scale=0.02, proxy_cooldown_seconds=0.5, max_in_run_wait_seconds=10.0)
    failed = 0
    with dg.DagsterInstance.get() as instance:
        for date, target in partitions:
            ok = dagster_run(instance, target, date, res=res).success
            failed += not ok
            print(json.dumps({"date": date, "target": target, "success": ok}), flush=True)
    return 1 if failed else 0


def _stored_pages(home: Path) -> int:
    n = 0
    for _root, _dirs, files in os.walk(home / "raw"):
        n += sum(f.endswith((".html.gz", ".gone.json.gz")) for f in files)
    return n


def run_rounds(home: Path, env: dict[str, str], partitions: list[tuple[str, str]], total: int,
               kills: int, rng: random.Random, max_rounds: int = 12) -> dict:
    marks = sorted(rng.uniform(0.1, 0.9) * total for _ in range(kills))
    killed, rounds, log = 0, 0, []
    cmd = [sys.executable, "-m", "bench.chaos", "worker", json.dumps(partitions)]
    while rounds < max_rounds:
        rounds += 1
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        mark = marks[killed] if killed < len(marks) else None
        while proc.poll() is None:
            if mark is not None and _stored_pages(home) >= mark:
                time.sleep(rng.uniform(0, 0.5))  # land anywhere: fetch, write, manifest, parquet
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    killed += 1
                    log.append(f"round {rounds}: SIGKILL at {_stored_pages(home)} stored pages")
                break
            time.sleep(0.1)
        out = proc.communicate()[0] if proc.stdout else ""
        if proc.returncode == 0 and killed >= kills:
            log.append(f"round {rounds}: every partition materialized")
            break
        if proc.returncode not in (0, -signal.SIGKILL):
            failed = [ln for ln in out.splitlines() if '"success": false' in ln]
            log.append(f"round {rounds}: {len(failed)} partition run(s) failed; re-executing")
    return {"rounds": rounds, "kills": killed, "log": log}


def verify(home: Path, sandbox: SandboxProcess, partitions: list[tuple[str, str]]) -> dict:
    """Compare the store with what the sandbox serves now (faults off, gone pages still gone)."""
    from fleet_assets.lib.crawl.crawler import PartitionCrawler
    from fleet_assets.lib.crawl.retry import policies_from
    from fleet_assets.lib.http.fetcher import HttpFetcher
    from fleet_assets.lib.taxonomy import Taxonomy

    os.environ["FLEET_SANDBOX_URL"] = sandbox.url
    targets = load_targets(home.parent / "targets.yaml")
    store = LocalObjectStore(home)
    fetcher = HttpFetcher()
    lost: list[str] = []
    untombstoned: list[str] = []
    pages = gone_pages = 0
    con = duckdb.connect()
    for date, name in partitions:
        target = targets[name]
        with tempfile.TemporaryDirectory() as scratch:
            discovery = PartitionCrawler(target, date, LocalObjectStore(Path(scratch)), fetcher,
                                         Taxonomy(), policies_from({})).discover()
        if not discovery.complete:
            raise RuntimeError(f"verification could not list {name} {date}: {discovery.failure}")
        urls = list(discovery.urls)
        try:
            entries = {e.url: e for e in mf.loads(store.get(keys.manifest_key(name, date)))}
        except KeyError:
            entries = {}
        table = home / keys.table_key("records", name, date)
        records = {r[0] for r in con.execute(f"SELECT natural_key FROM read_parquet('{table}')")
                   .fetchall()} if table.exists() else set()
        stones_file = home / keys.table_key("tombstones", name, date)
        stones = {r[0] for r in con.execute(
            f"SELECT natural_key FROM read_parquet('{stones_file}')").fetchall()
        } if stones_file.exists() else None
        for url in urls:
            live = fetcher.fetch(url)
            entry = entries.get(url)
            nk = keys.natural_key(url, date)
            if live.status in (404, 410):
                gone_pages += 1
                evidence = (entry is not None and entry.status == mf.GONE and entry.object_key
                            and store.exists(entry.object_key))
                # Either proof counts: a row of the partition's tombstones table, or a
                # gone manifest entry whose evidence object exists (possibly an earlier day's).
                if not (evidence or (stones is not None and nk in stones)):
                    untombstoned.append(url)
                continue
            pages += 1
            ok = (entry is not None and entry.status == mf.STORED and entry.object_key is not None
                  and store.exists(entry.object_key)
                  and gzip.decompress(store.get(entry.object_key)) == live.body
                  and nk in records)
            if not ok:
                lost.append(url)
    glob = str(home / "tables" / "records" / "*" / "*.parquet")
    total, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT natural_key) FROM read_parquet('{glob}')").fetchone()
    return {"pages": pages, "gone_pages": gone_pages, "records": total,
            "pages_lost": len(lost), "records_duplicated": total - distinct,
            "untombstoned_404s": len(untombstoned), "stale_partial_objects": len(stale(home)),
            "examples": {"lost": lost[:5], "untombstoned": untombstoned[:5],
                         "stale": stale(home)[:5]}}


def stale(home: Path) -> list[str]:
    """Temp files anywhere, and stored gzip objects that do not decompress completely."""
    out = []
    for root, _dirs, files in os.walk(home):
        if "dagster_home" in Path(root).parts:
            continue
        for f in files:
            path = Path(root) / f
            rel = path.relative_to(home).as_posix()
            if f.startswith(".tmp-"):
                out.append(rel)
            elif f.endswith(".gz"):
                try:
                    gzip.decompress(path.read_bytes())
                except (OSError, EOFError):
                    out.append(rel)
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "worker":
        return worker([tuple(p) for p in json.loads(argv[1])])
    ap = argparse.ArgumentParser(prog="python -m bench.chaos")
    ap.add_argument("--pages", type=int, default=5000)
    ap.add_argument("--kills", type=int, default=2)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    shop_items, partitions = plan(args.pages)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fleet-chaos-") as tmp, \
            SandboxProcess(proxies=3, shop_items=shop_items) as sandbox:
        home = Path(tmp) / "home"
        write_targets(Path(tmp) / "targets.yaml")
        env = _env(home, sandbox.url, sandbox.proxy_urls)
        _discover_listings(home, env, partitions)
        sandbox.set_faults(faults(seed))
        total = args.pages
        rounds = run_rounds(home, env, partitions, total, args.kills, rng)
        sandbox.set_faults({"seed": seed, "gone_rate": 0.02})
        stats = sandbox.stats()
        result = {"seed": seed, **rounds, **verify(home, sandbox, partitions),
                  "requests": stats.get("total"), "seconds": round(time.monotonic() - started, 1)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"chaos run: seed {seed}, {len(partitions)} partitions, {result['pages']} live pages, "
              f"{result['gone_pages']} gone, {result['requests']} requests, {result['seconds']} s")
        for line in result["log"]:
            print("  " + line)
        for k in ("kills", "pages_lost", "records_duplicated", "untombstoned_404s",
                  "stale_partial_objects"):
            print(f"  {k:24s} {result[k]}")
        for k, v in result["examples"].items():
            if v:
                print(f"  e.g. {k}: {v}")
    ok = (result["kills"] == args.kills and result["pages_lost"] == 0
          and result["records_duplicated"] == 0 and result["untombstoned_404s"] == 0
          and result["stale_partial_objects"] == 0 and result["pages"] > 0)
    return 0 if ok else 1


def _discover_listings(home: Path, env: dict[str, str], partitions: list[tuple[str, str]]) -> None:
    code = ("import json,sys; from pathlib import Path; from fleet_assets.lib.crawl.crawler import "
            "PartitionCrawler; from fleet_assets.lib.http.fetcher import HttpFetcher; "
            "from fleet_assets.lib.crawl.retry import policies_from; "
            "from fleet_assets.lib.taxonomy import Taxonomy; "
            "from fleet_assets.lib.store.local import LocalObjectStore; "
            "from fleet_assets.lib.targets import load_targets; import os; "
            "ts = load_targets(os.environ['FLEET_TARGETS']); "
            "[PartitionCrawler(ts[t], d, LocalObjectStore(Path(os.environ['FLEET_HOME'])), "
            "HttpFetcher(), Taxonomy(), policies_from({})).discover() "
            "for d, t in json.loads(sys.argv[1])]")
    subprocess.run([sys.executable, "-c", code, json.dumps(partitions)], env=env, check=True)


if __name__ == "__main__":
    sys.exit(main())
