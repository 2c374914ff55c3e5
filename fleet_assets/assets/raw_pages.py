"""``raw_pages``: fetch a target's pages for one day and store their raw bytes.

Grain: one gzip object per fetched URL per target per day, plus one manifest and one
tombstones table file per partition.

How a partition's retries flow (the failure class decides; no loop inside the step):

- A (transient) and B (environmental) pages stay ``pending`` in the manifest with their
  class and due time. If every pending page is due within ``max_in_run_wait_seconds``, the
  step raises ``dg.RetryRequested`` for the latest due time (so no page, e.g. a 429 with a
  Retry-After, is retried early); Dagster re-executes the step (``STEP_UP_FOR_RETRY``) and
  the next attempt fetches only what is pending.
- A longer wait (a long Retry-After, every proxy burned) ends the step with ``dg.Failure``
  whose metadata carries ``due_at`` (epoch seconds): a sensor launches a new run when due.
- When the class's attempts run out the step fails with ``dg.Failure`` listing the pending
  URLs by class (run retries in ``dagster.yaml`` may pick the run up again).
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
from fleet_assets.lib.crawl import tombstones
from fleet_assets.lib.crawl.backoff import full_jitter
from fleet_assets.lib.crawl.crawler import CrawlResult, PartitionCrawler
from fleet_assets.lib.failures import ClassPolicy, FailureClass
from fleet_assets.lib.store.base import ObjectStore, StoreError
from fleet_assets.resources.fetcher import UNCLASSIFIED_RETRY, FetcherResource
from fleet_assets.resources.store import ObjectStoreResource
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.state.circuit import guard

# Fixed metadata keys, present on every materialization and failure, so the UI can plot them.
OUTCOME_LABELS = ("ok", "A", "B", "C", "D", "reused", "disallowed", "tombstoned", "suspect",
                  "suspect_cleared")
VERBS = {FailureClass.TRANSIENT: "retrying", FailureClass.ENVIRONMENTAL: "rotating"}


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
) -> dg.MaterializeResult:
    """One gzip object per fetched URL per target per day, the manifest and the tombstones."""
    guard(context)  # fail fast while the target's drift circuit is open
    date, name = split(context)
    target = targets.get(name)
    object_store = store.get_store()
    policies = fetcher.policies(target)
    crawler = PartitionCrawler(
        target=target,
        date=date,
        store=object_store,
        fetcher=fetcher.http(target),
        taxonomy=fetcher.taxonomy(target),
        policies=policies,
        proxies=fetcher.proxy_pool(target, object_store),
        attempt=context.retry_number,
        rng=random.Random(),
    )
    try:
        result = crawler.run()
        tomb_count = _write_tombstones(object_store, name, date, result)
    except StoreError as exc:
        # The store is down (class A): stored objects stay, the manifest is rewritten next time.
        a = policies[FailureClass.TRANSIENT]
        _retry_or_fail(context, fetcher, a, FailureClass.TRANSIENT,
                       full_jitter(context.retry_number, a.base_seconds, a.cap_seconds, random.Random()),
                       {"store_error": str(exc)}, pending=0, exhausted=False,
                       head="object store unavailable")
    metadata = _metadata(result, name, date, tomb_count)
    dead = result.listing_dead
    if dead is not None:
        # The same request gives the same answer: no retry; the manifest is already written.
        description = (f"listing start page {dead.url} is unusable ({dead.failure.value}): "
                       f"{dead.reason}; check the target's listing.start_url and link selector")
        context.log.error(description)
        raise dg.Failure(description=description, allow_retries=False,
                         metadata={**metadata, "failure_class": dead.failure.value,
                                   "listing_url": dead.url})
    if result.complete:
        context.log.info(f"{name} {date}: complete, {result.counts()}")
        return dg.MaterializeResult(metadata=metadata)
    by_class = result.pending_by_class()
    # B outranks A: the pool needs a rotation, not only a wait.
    failure = FailureClass.ENVIRONMENTAL if "B" in by_class else FailureClass.TRANSIENT
    wait = max(0.0, (result.last_due() or time.time()) - time.time())
    details = {
        **metadata,
        "pending_urls_by_class": dg.MetadataValue.json(
            {cls: sorted(urls)[:50] for cls, urls in sorted(by_class.items())}
        ),
    }
    listing = result.listing_failure
    exhausted = "B" in by_class and (result.proxies_exhausted_until is not None
                                     or (listing is not None and listing.proxies_exhausted))
    context.log.info(
        f"{name} {date}: attempt {result.attempt + 1}: {result.counts()}, pending by class "
        f"{ {cls: len(urls) for cls, urls in sorted(by_class.items())} }, "
        f"listing {'complete' if listing is None else 'pending at ' + listing.url}, "
        f"outcomes {dict(sorted(result.outcomes.items()))}"
    )
    _retry_or_fail(context, fetcher, policies[failure], failure, wait, details,
                   pending=result.pending_count, exhausted=exhausted)


def _retry_or_fail(context: dg.AssetExecutionContext, fetcher: FetcherResource,
                   policy: ClassPolicy, failure: FailureClass, wait: float,
                   details: dict[str, object], pending: int, exhausted: bool,
                   head: str | None = None) -> NoReturn:
    """Wait inside the run (``RetryRequested``) or leave it (``Failure`` with ``due_at``)."""
    attempts_used = context.retry_number + 1
    verb = VERBS[failure]
    if attempts_used < policy.max_attempts and wait <= fetcher.max_in_run_wait_seconds:
        context.log.warning(
            f"{verb} ({failure.value}): {pending} pending, next attempt "
            f"{attempts_used + 1}/{policy.max_attempts} in {wait:.2f}s"
        )
        raise dg.RetryRequested(max_retries=policy.max_attempts - 1, seconds_to_wait=wait)
    due = time.time() + wait
    if attempts_used >= policy.max_attempts:
        why = f"attempts exhausted ({attempts_used}/{policy.max_attempts})"
    else:
        why = f"next attempt due in {wait:.0f}s, later than the in-run limit"
    if head is None and exhausted:
        head = ("ProxiesExhausted (B): every proxy is burned for this target; "
                f"{pending} page(s) pending")
    elif head is None:
        head = f"{pending} page(s) pending with class {failure.value}"
    description = (f"{head} ({why}); come back after "
                   f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(due))}")
    context.log.error(description)
    raise dg.Failure(
        description=description,
        metadata={
            **details,
            "failure_class": failure.value,
            "proxies_exhausted": bool(exhausted),
            "due_at": dg.MetadataValue.float(due),
            "wait_seconds": dg.MetadataValue.float(round(wait, 3)),
            "attempts": attempts_used,
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
        "pending_A": len(pending.get("A", [])),
        "pending_B": len(pending.get("B", [])),
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
        **{f"outcome_{k}": result.outcomes.get(k, 0) for k in OUTCOME_LABELS},
        "manifest_key": keys.manifest_key(target, date),
        "tombstones_key": keys.table_key("tombstones", target, date),
    }
