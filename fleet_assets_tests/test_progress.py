"""Progress of a long crawl attempt: pages done / total, rate, pending by class, as key=value."""

from __future__ import annotations

import random

import dagster as dg

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.crawler import PartitionCrawler
from fleet_assets.lib.crawl.progress import Progress
from fleet_assets.lib.crawl.retry import policies_from
from fleet_assets.lib.http.fetcher import HttpFetcher
from fleet_assets.lib.logfmt import kv
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.lib.taxonomy import Taxonomy
from fleet_assets.resources import build_resources
from fleet_assets.settings import targets_path


class StepClock:
    """Advances one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _entry(n: int, status: str = mf.STORED, cls: str | None = None) -> mf.ManifestEntry:
    return mf.ManifestEntry(url=f"http://x/{n}", natural_key=str(n), status=status, failure_class=cls)


def test_kv_writes_logfmt():
    line = kv(event="complete", target="shop", stored=40, rate=2.3456, ok=True,
              pending={"B": 1, "A": 2}, note="at http://x/a b", empty="")
    assert line == ('event=complete target=shop stored=40 rate=2.35 ok=true pending_A=2 pending_B=1 '
                    'note="at http://x/a b" empty=""')


def test_progress_reports_every_few_seconds_with_rate_and_pending_by_class():
    reports = []
    progress = Progress(reports.append, clock=StepClock(), every_seconds=4)
    progress.start(total=12, carried=2)  # t=1
    for n in range(10):  # each page() reads the clock once: t=2..11
        cls = "A" if n in (3, 7) else ("B" if n == 8 else None)
        progress.page(_entry(n, mf.PENDING if cls else mf.STORED, cls))
    final = progress.finish()  # t=12
    assert [r.final for r in reports] == [False, False, True]
    first, second = reports[0], reports[1]
    # t=5: pages 0-3 fetched, page 3 left pending (A); 2 carried over count as done
    assert (first.done, first.total, first.attempted, first.elapsed_seconds) == (5, 12, 4, 4.0)
    assert first.rate == 1.0 and first.pending == {"A": 1}
    assert (second.done, second.attempted, second.pending) == (8, 8, {"A": 2})
    assert final is reports[-1]
    assert (final.done, final.attempted, final.pending) == (9, 10, {"A": 2, "B": 1})
    assert final.event == "fetched" and reports[0].event == "progress"
    assert kv(**final.fields()) == ("pages=9/12 attempted=10 rate_per_s=0.91 "
                                    "elapsed_s=11 pending_A=2 pending_B=1")


def test_crawler_reports_progress_of_a_real_partition(fleet_env, sandbox):
    target = load_targets(targets_path())["jobs"]
    reports = []
    crawler = PartitionCrawler(
        target=target, date="2025-06-10", store=LocalObjectStore(fleet_env), fetcher=HttpFetcher(),
        taxonomy=Taxonomy(), policies=policies_from({}), rng=random.Random(1),
        progress=Progress(reports.append, clock=StepClock(), every_seconds=5))
    result = crawler.run()
    assert result.complete and len(result.entries) == 15
    # 16 clock reads (start and 15 pages, in whatever order the fetch threads finish in),
    # the first at t=1: reports at t=6, 11 and 16, then the final one
    assert [r.final for r in reports] == [False, False, False, True]
    assert [r.attempted for r in reports] == sorted(r.attempted for r in reports)
    assert (reports[-1].done, reports[-1].total, reports[-1].attempted) == (15, 15, 15)
    assert [r.elapsed_seconds for r in reports] == [5.0, 10.0, 15.0, 16.0]


def test_pages_finished_before_start_are_counted_and_the_total_is_unknown_until_then():
    reports = []
    progress = Progress(reports.append, clock=StepClock(), every_seconds=2)
    progress.page(_entry(0, mf.STORED, None))  # t=1: a listing page's link, fetched early
    progress.page(_entry(1, mf.STORED, None))  # t=2
    progress.page(_entry(2, mf.STORED, None))  # t=3: due, before the walk ended
    progress.start(total=4, carried=0)  # t=4
    progress.page(_entry(3, mf.STORED, None))  # t=5: due
    final = progress.finish()  # t=6
    assert [(r.done, r.total, r.elapsed_seconds) for r in reports] == [
        (3, None, 2.0), (4, 4, 4.0), (4, 4, 5.0)]
    assert reports[0].fields()["pages"] == "3/?" and final.fields()["pages"] == "4/4"


def test_raw_pages_logs_progress_and_outcomes_as_key_value(fleet_env, sandbox):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
        result = dg.materialize(ALL, selection=["raw_pages"], instance=instance,
                                partition_key=partition_key("2025-06-10", "jobs"),
                                resources=build_resources())
        messages = [e.user_message for e in instance.all_logs(result.run_id)
                    if e.user_message and "target=jobs" in e.user_message]
    assert any(m.startswith("event=fetched target=jobs date=2025-06-10 pages=15/15 attempted=15 ")
               for m in messages), messages
    assert any(m.startswith("event=complete target=jobs date=2025-06-10 ") and " stored=15" in m
               for m in messages), messages
    assert any(m.endswith(" pending=0") for m in messages), messages
    assert not any("{" in m for m in messages), messages
