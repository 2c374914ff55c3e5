"""``raw_pages``: fetch a target's pages for one day and store their raw bytes.

Grain: one gzip object per fetched URL per target per day, plus one manifest and one
tombstones table file per partition.

How a partition's retries flow (``lib/crawl/retry.py`` decides from the failure class; this
module only acts on the decision; no loop inside the step):

- A (transient) and B (environmental) pages stay ``pending`` in the manifest with their
  class and due time. If every pending page is due within ``max_in_run_wait_seconds``, the
  step raises ``dg.RetryRequested`` for the latest due time (so no page, e.g. a 429 with a
  Retry-After, is retried early); Dagster re-executes the step (``STEP_UP_FOR_RETRY``) and
  the next attempt fetches only what is pending.
- A longer wait (a long Retry-After, every proxy burned) ends the step with ``dg.Failure``
  whose metadata carries ``due_at`` (epoch seconds): a sensor launches a new run when due.
- When the class's attempts run out the step fails with ``dg.Failure`` listing the pending
  URLs by class (run retries in ``deploy/dagster.local.yaml`` may pick the run up again).
- C (semantic) and D (hard) never cost a retry: C pages are stored and judged downstream,
  D pages become tombstones, and neither keeps the partition from completing.
"""


import random
import time
from typing import NoReturn

import dagster as dg

from fleet_assets.assets.meta import OWNERS, tags
from fleet_assets.automation.partitions import fleet_partitions, split
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl import retry, tombstones
from fleet_assets.lib.crawl.crawler import CrawlResult, PartitionCrawler
from fleet_assets.lib.crawl.progress import Progress
from fleet_assets.lib.failures import FailureClass
from fleet_assets.lib.logfmt import kv
from fleet_assets.lib.store.base import ObjectStore, StoreError
from fleet_assets.resources.budget import HostBudgetResource
from fleet_assets.resources.fetcher import UNCLASSIFIED_RETRY, FetcherResource
from fleet_assets.resources.store import ObjectStoreResource
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.state import history
from fleet_assets.state.circuit import guard

# Fixed metadata keys, present on every materialization and failure, so the UI can plot them.
OUTCOME_LABELS = ("ok", "A", "B", "C", "D", "reused", "disallowed", "tombstoned", "deferred",
                  "suspect", "suspect_cleared")
# A long partition logs pages done / total, rate and pending by class this often.
PROGRESS_EVERY_SECONDS = 5.0


@dg.asset(
    partitions_def=fleet_partitions,
    group_name="ingest",
    # What the objects are (gzip HTML bodies), not where they live: the store is local or S3.
    kinds={"python", "html"},
    owners=OWNERS,
    tags=tags("ingest", "object-store"),
    retry_policy=UNCLASSIFIED_RETRY,
)
def raw_pages(
    context: dg.AssetExecutionContext,
    targets: TargetsResource,
    store: ObjectStoreResource,
    fetcher: FetcherResource,
    budget: HostBudgetResource,
) -> dg.MaterializeResult:
    """One gzip object per fetched URL per target per day, the manifest and the tombstones."""
    with history.AttemptReport(context) as report:
        return report.done(_crawl_partition(context, targets, store, fetcher, budget))


def _crawl_partition(
    context: dg.AssetExecutionContext,
    targets: TargetsResource,
    store: ObjectStoreResource,
    fetcher: FetcherResource,
    budget: HostBudgetResource,
) -> dg.MaterializeResult:
    guard(context)  # fail fast while the target's drift circuit is open
    date, name = split(context)
    target = targets.get(name)
    object_store = store.get_store()
    policies = fetcher.policies(target)
    attempt, limit = context.retry_number, fetcher.max_in_run_wait_seconds
    crawler = PartitionCrawler(
        target=target,
        date=date,
        store=object_store,
        fetcher=fetcher.http(target),
        taxonomy=fetcher.taxonomy(target),
        policies=policies,
        proxies=fetcher.proxy_pool(target, object_store),
        attempt=attempt,
        rng=random.Random(),
        budget=budget.get_budget(),
        progress=Progress(
            lambda report: context.log.info(kv(event=report.event, target=name, date=date,
                                               **report.fields())),
            clock=time.monotonic, every_seconds=PROGRESS_EVERY_SECONDS),
    )
    try:
        result = crawler.run()
        tomb_count = _write_tombstones(object_store, name, date, result)
    except StoreError as exc:
        # Stored objects stay; the manifest is rewritten by the next attempt.
        _act(context, retry.decide_outage(policies, attempt, limit, random.Random()),
             {"store_error": str(exc)})
    metadata = _metadata(result, name, date, tomb_count)
    decision = retry.decide(result, policies, attempt, limit)
    if isinstance(decision, retry.GiveUp):
        context.log.error(decision.reason)
        raise dg.Failure(description=decision.reason, allow_retries=False,
                         metadata={**metadata, "failure_class": decision.failure_class.value,
                                   "listing_url": decision.url})
    if isinstance(decision, retry.Done):
        context.log.info(kv(event="complete", target=name, date=date, **result.counts()))
        return dg.MaterializeResult(metadata=metadata)
    by_class = result.pending_by_class()
    listing = result.listing_failure
    context.log.info(kv(
        event="incomplete", target=name, date=date, attempt=attempt + 1, **result.counts(),
        pending_class={cls.value: len(urls) for cls, urls in by_class.items()},
        listing="complete" if listing is None else f"pending at {listing.url}",
        outcome=result.outcomes,
    ))
    _act(context, decision, {
        **metadata,
        "pending_urls_by_class": dg.MetadataValue.json(
            {cls.value: sorted(urls)[:50] for cls, urls in sorted(by_class.items())}
        ),
    })


def _act(context: dg.AssetExecutionContext, decision: retry.RetryIn | retry.LeaveUntil,
         details: dict[str, object]) -> NoReturn:
    """Wait inside the run (``RetryRequested``) or leave it (``Failure`` with ``due_at``)."""
    if isinstance(decision, retry.RetryIn):
        context.log.warning(decision.message)
        raise dg.RetryRequested(max_retries=decision.max_attempts - 1,
                                seconds_to_wait=decision.seconds)
    context.log.error(decision.reason)
    raise dg.Failure(
        description=decision.reason,
        metadata={
            **details,
            "failure_class": decision.failure_class.value,
            "proxies_exhausted": decision.proxies_exhausted,
            "due_at": dg.MetadataValue.float(decision.due_at),
            "wait_seconds": dg.MetadataValue.float(round(decision.wait_seconds, 3)),
            "attempts": decision.attempts,
        },
        allow_retries=False,
    )


def _write_tombstones(store: ObjectStore, target: str, date: str, result: CrawlResult) -> int:
    """Replace the partition's tombstones file whole: one row per URL gone in this partition."""
    rows = tombstones.rows(store, target, date, result.entries)
    store.put(keys.table_key("tombstones", target, date), tables.to_parquet("tombstones", rows))
    return len(rows)


def _metadata(result: CrawlResult, target: str, date: str, tomb_count: int) -> dict[str, object]:
    counts = result.counts()
    pending = result.pending_by_class()
    return {
        "pages": len(result.entries),
        "stored": counts[mf.STORED],
        "gone": counts[mf.GONE],
        "pending": result.pending_count,
        "listing_complete": result.listing_failure is None,
        "pending_A": len(pending.get(FailureClass.TRANSIENT, [])),
        "pending_B": len(pending.get(FailureClass.ENVIRONMENTAL, [])),
        "disallowed": counts[mf.DISALLOWED],
        "newly_stored": result.newly_stored,
        "carried_over": result.carried_over,
        "requests": result.requests,
        "listing_requests": result.listing_requests,
        "bytes_stored": result.bytes_stored,
        "proxies_rotated": result.proxies_rotated,
        "proxies_burned": result.proxies_burned,
        "attempt": result.attempt + 1,
        "page_attempts": sum(e.attempts for e in result.entries),
        "tombstones_written": tomb_count,
        "suspects": result.suspects,
        "confirmed_C": result.confirmed_c,
        "duration_seconds": dg.MetadataValue.float(round(result.duration_seconds, 3)),
        "budget_wait_seconds": dg.MetadataValue.float(round(result.budget_wait_seconds, 3)),
        **{f"outcome_{k}": result.outcomes.get(k, 0) for k in OUTCOME_LABELS},
        # Every attempt of every URL, across step attempts and runs (the manifest's ledger).
        **{f"ledger_{k}": n for k, n in sorted(mf.ledger(result.entries).items())},
        "manifest_key": keys.manifest_key(target, date),
        "tombstones_key": keys.table_key("tombstones", target, date),
    }
