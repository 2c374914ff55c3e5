"""``raw_pages``: fetch a target's pages for one day and store their raw bytes.

Grain: one gzip object per fetched URL per target per day, plus one manifest per partition.
The step reports its failure class and lets Dagster schedule the next attempt: pages that
ended in class A or B stay pending in the manifest, and the step raises ``RetryRequested``
(a short wait) or ``Failure`` with the due time (a long wait, or attempts exhausted).
"""


import random
import time

import dagster as dg

from fleet_assets.lib import keys
from fleet_assets.lib.backoff import full_jitter
from fleet_assets.lib.crawl import CrawlResult, ListingFailed, PartitionCrawler
from fleet_assets.lib.failures import FailureClass
from fleet_assets.lib.store import StoreError
from fleet_assets.partitions import fleet_partitions, split
from fleet_assets.resources.fetcher import FetcherResource
from fleet_assets.resources.store import ObjectStoreResource
from fleet_assets.resources.targets import TargetsResource

OUTCOME_LABELS = ("ok", "A", "B", "D", "reused", "disallowed")

# Exceptions nobody classified (a bug, a dying disk) get a few spaced attempts too.
UNCLASSIFIED_RETRY = dg.RetryPolicy(
    max_retries=2, delay=1.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
)


@dg.asset(
    partitions_def=fleet_partitions,
    group_name="ingest",
    kinds={"python", "storage"},
    retry_policy=UNCLASSIFIED_RETRY,
)
def raw_pages(
    context: dg.AssetExecutionContext,
    targets: TargetsResource,
    store: ObjectStoreResource,
    fetcher: FetcherResource,
) -> dg.MaterializeResult:
    """One gzip object per fetched URL per target per day, and the partition's manifest."""
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
    except ListingFailed as exc:
        _retry_or_fail(context, fetcher, policies, exc.failure, exc.wait,
                       {"listing_url": exc.url, "reason": exc.reason}, pending=1)
        raise AssertionError("unreachable") from exc
    except StoreError as exc:
        # The store is down (class A): stored objects stay, the manifest is rewritten next time.
        a = policies[FailureClass.TRANSIENT]
        _retry_or_fail(context, fetcher, policies, FailureClass.TRANSIENT,
                       full_jitter(context.retry_number, a.base_seconds, a.cap_seconds, random.Random()),
                       {"store_error": str(exc)}, pending=0)
        raise AssertionError("unreachable") from exc
    metadata = _metadata(result, name, date)
    if result.complete:
        context.log.info(f"{name} {date}: complete, {result.counts()}")
        return dg.MaterializeResult(metadata=metadata)
    by_class = result.pending_by_class()
    # B outranks A: the pool needs a rotation, not only a wait.
    failure = FailureClass.ENVIRONMENTAL if "B" in by_class else FailureClass.TRANSIENT
    due = result.next_due()
    wait = max(0.0, (due or time.time()) - time.time())
    details = {
        **{k: v for k, v in metadata.items()},
        "pending_urls_by_class": dg.MetadataValue.json(
            {cls: sorted(urls)[:50] for cls, urls in by_class.items()}
        ),
    }
    _retry_or_fail(context, fetcher, policies, failure, wait, details,
                   pending=len(result.pending))
    raise AssertionError("unreachable")


def _retry_or_fail(context, fetcher, policies, failure, wait, details, pending):
    policy = policies[failure]
    attempts_used = context.retry_number + 1
    verb = "rotating" if failure is FailureClass.ENVIRONMENTAL else "retrying"
    if attempts_used < policy.max_attempts and wait <= fetcher.max_in_run_wait_seconds:
        context.log.warning(
            f"{verb} ({failure.value}): {pending} pending, next attempt "
            f"{attempts_used + 1}/{policy.max_attempts} in {wait:.2f}s"
        )
        raise dg.RetryRequested(max_retries=policy.max_attempts - 1, seconds_to_wait=wait)
    reason = "attempts exhausted" if attempts_used >= policy.max_attempts else "wait too long"
    raise dg.Failure(
        description=f"{pending} page(s) pending with class {failure.value} ({reason}); "
        f"due in {wait:.0f}s",
        metadata={
            **details,
            "failure_class": failure.value,
            "due_at": dg.MetadataValue.float(time.time() + wait),
            "wait_seconds": dg.MetadataValue.float(wait),
            "attempts": attempts_used,
        },
        allow_retries=False,
    )


def _metadata(result: CrawlResult, target: str, date: str) -> dict[str, object]:
    counts = result.counts()
    return {
        "pages": len(result.entries),
        "stored": counts["stored"],
        "gone": counts["gone"],
        "pending": counts["pending"],
        "disallowed": counts["disallowed"],
        "newly_stored": result.newly_stored,
        "carried_over": result.carried_over,
        "requests": result.requests,
        "listing_requests": result.listing_requests,
        "bytes_stored": result.bytes_stored,
        "proxies_rotated": result.proxies_rotated,
        "attempt": result.attempt + 1,
        "duration_seconds": dg.MetadataValue.float(round(result.duration_seconds, 3)),
        **{f"outcome_{k}": result.outcomes.get(k, 0) for k in OUTCOME_LABELS},
        "manifest_key": keys.manifest_key(target, date),
    }
