"""Fetch one partition (target x day) into the object store: the ``raw_pages`` transition.

One call of ``PartitionCrawler.run`` is one attempt. It never loops on failures: pages
that end in a retryable class (A transient, B environmental) stay ``pending`` in the
manifest with their class and due time, and the caller (the Dagster step) decides when the
next attempt runs. Finished pages are never fetched again: their objects are put-if-absent
and their manifest entries are carried over unchanged, so a re-run of a complete partition
sends zero requests and rewrites nothing.

Reads from the target: ``urls`` / ``listing``, ``politeness`` (max_concurrency,
requests_per_second, obey_robots), ``max_body_bytes``, ``timeout_seconds``,
``refetch_tombstoned`` (see ``tombstones.py``: a URL found gone on an earlier day is not
fetched again); and the class policies (``retry``) for due times. The listing walk
(``listing.py``) resumes at the page that failed; the links found before it are fetched in
the same attempt.

C is confirmed before it counts: a good answer without any required field is a suspect,
asked once more as another client before it is stored as C (``suspects.py``). Every request
goes through the attempt's ``Route`` (``route.py``: proxy, host budget, robots.txt, verdict).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from urllib.parse import urlsplit

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.crawl.backoff import ClassPolicy
from fleet_assets.lib.crawl.budget import HostBudget, MemoryBudget
from fleet_assets.lib.crawl.listing import Discovery, discover
from fleet_assets.lib.crawl.progress import Progress
from fleet_assets.lib.crawl.proxies import ProxyPool
from fleet_assets.lib.crawl.result import CrawlResult, Tally
from fleet_assets.lib.crawl.route import HostDeferred, Route
from fleet_assets.lib.crawl.suspects import SUSPECT, SUSPECT_TWICE, is_suspect, other_proxy
from fleet_assets.lib.crawl.tombstones import TombstoneIndex, evidence_of
from fleet_assets.lib.decode import sniff_encoding
from fleet_assets.lib.failures import (
    OK,
    ErrorKind,
    FailureClass,
    FetchOutcome,
    ListingFailed,
    ProxiesExhausted,
    Verdict,
)
from fleet_assets.lib.http.fetcher import Fetcher
from fleet_assets.lib.http.origins import target_policy
from fleet_assets.lib.store.base import CorruptObject, ObjectMissing, ObjectStore
from fleet_assets.lib.store.integrity import pack_page, read_page
from fleet_assets.lib.store.local import sweep_partials
from fleet_assets.lib.targets import Target
from fleet_assets.lib.taxonomy import Taxonomy

Clock = Callable[[], float]
# D by our own limits, not the site's answer that the page is gone: over the size cap, a
# redirect to an origin the target does not allow (or a Location we refuse). Gone for that
# day only, never a tombstone, so a raised cap or a new allowed_origins works the next day.
_OUR_LIMITS = frozenset({ErrorKind.TOO_LARGE, ErrorKind.OFFSITE, ErrorKind.REDIRECT_REFUSED})


class PartitionCrawler:
    def __init__(
        self,
        target: Target,
        date: str,
        store: ObjectStore,
        fetcher: Fetcher,
        taxonomy: Taxonomy,
        policies: dict[FailureClass, ClassPolicy],
        proxies: ProxyPool | None = None,
        attempt: int = 0,
        rng: random.Random | None = None,
        clock: Clock = time.time,
        progress: Progress | None = None,
        budget: HostBudget | None = None,
    ) -> None:
        self.target, self.date, self.store, self.fetcher = target, keys.check_date(date), store, fetcher
        self.taxonomy, self.policies, self.proxies = taxonomy, policies, proxies
        self.attempt, self.clock, self.progress = attempt, clock, progress
        # Without a shared budget (library use, unit tests) politeness holds within this run.
        self.budget = budget or MemoryBudget()
        self.origins = target_policy(target)
        self._tally = Tally()
        self.route = Route(target, fetcher, taxonomy, policies, proxies, self.budget, self._tally,
                           clock, rng or random.Random(), attempt)
        self.tombstones = TombstoneIndex(store, target.name)

    # -- discovery ---------------------------------------------------------------------------
    def discover(self) -> Discovery:
        """The day's URLs (``listing.py``); a failed listing page stops the walk, not the attempt."""
        return discover(self.target, self.date, self.store, self.route.listing_page,
                        self.route.listing_refetch)

    # -- one attempt -------------------------------------------------------------------------
    def run(self) -> CrawlResult:
        started = time.monotonic()
        sweep_partials(self.store, keys.partition_prefix(self.target.name, self.date),
                       f"state/proxies/{self.target.name}/")  # temp files of killed attempts
        previous = self._previous_manifest()
        carried: dict[str, mf.ManifestEntry] = {}
        fetches: dict[str, Future[mf.ManifestEntry]] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, self.target.politeness.max_concurrency),
                                  thread_name_prefix="fetch")

        def submit(links: Iterable[str]) -> None:
            """Fetch each new link (not stored already, on the target's origins)."""
            for url in links:
                if url in fetches or url in carried:
                    continue
                if not self.origins.allows(self.target.request_url(url)):
                    continue  # another origin (scheme, host or port): counted, never fetched
                prev = previous.get(url)
                if prev is not None and prev.terminal and self._still_stored(prev):
                    carried[url] = prev
                else:
                    fetches[url] = pool.submit(
                        lambda u=url, p=prev: self._reported(self._fetch_page(u, p)))

        try:
            # The walk runs before the item fetches: overlapping them (each catalog page's
            # links fetched at once) measured 5-12% slower end to end on 2 cores, where the
            # walk, the critical path, then shares the GIL with the item work.
            discovery = self.discover()
            submit(discovery.urls)
            if self.progress is not None:
                self.progress.start(len(carried) + len(fetches), len(carried))
            fresh = [f.result() for f in fetches.values()]
        finally:
            # An attempt that ends early (a store outage, a cancelled run's interrupt) stops
            # at the pages in flight: the queued ones are not fetched, and wait for the next
            # attempt (what was stored is reused then).
            pool.shutdown(cancel_futures=True)
            self.budget.flush()  # leases kept for reuse go back to the fleet
        offsite = discovery.offsite + len(discovery.urls) - len(carried) - len(fetches)
        if offsite:
            self._tally.outcomes["offsite_links"] += offsite
        if self.progress is not None:
            self.progress.finish()
        entries = tuple(sorted([*carried.values(), *fresh], key=lambda e: e.url))
        self.store.put(keys.manifest_key(self.target.name, self.date), mf.dumps(entries))
        t = self._tally
        return CrawlResult(
            entries=entries,
            requests=t.requests,
            listing_requests=t.listing_requests,
            newly_stored=t.newly_stored,
            carried_over=len(carried),
            bytes_stored=t.bytes_stored,
            outcomes=dict(t.outcomes),
            proxies_rotated=t.rotated,
            duration_seconds=time.monotonic() - started,
            attempt=self.attempt,
            proxies_exhausted_until=t.exhausted_until,
            proxies_burned=len(self.proxies.burned(self.target.name)) if self.proxies else 0,
            listing_failure=discovery.failure,
            listing_dead=discovery.dead,
            finished_at=self.clock(),
            budget_wait_seconds=t.budget_wait,
        )

    def _reported(self, entry: mf.ManifestEntry) -> mf.ManifestEntry:
        if self.progress is not None:
            self.progress.page(entry)
        return entry

    def _previous_manifest(self) -> dict[str, mf.ManifestEntry]:
        try:
            data = self.store.get(keys.manifest_key(self.target.name, self.date))
        except ObjectMissing:
            return {}
        return {e.url: e for e in mf.loads(data)}

    def _still_stored(self, entry: mf.ManifestEntry) -> bool:
        if entry.status == mf.GONE and self.target.refetch_tombstoned:
            return False
        if entry.max_body_bytes is not None and entry.max_body_bytes < self.target.max_body_bytes:
            return False  # over a cap that has since been raised: fetch it again
        return entry.object_key is None or self.store.exists(entry.object_key)

    def _fetch_page(self, url: str, prev: mf.ManifestEntry | None) -> mf.ManifestEntry:
        nk = keys.natural_key(url, self.date)
        base = prev or mf.ManifestEntry(url=url, natural_key=nk, status=mf.PENDING)
        obj_key = keys.raw_page_key(self.target.name, self.date, nk)
        body: bytes | None = None
        if self.store.exists(obj_key):
            try:
                body = read_page(self.store, obj_key)
            except (ObjectMissing, CorruptObject):
                body = None  # gone meanwhile, or unreadable and now quarantined: fetch again
        if body is not None:
            # Stored by an attempt that died before writing its manifest: the object is the
            # evidence, so rebuild the entry from it instead of fetching again.
            self._tally.outcome("reused")
            return mf.ManifestEntry(
                url=url, natural_key=nk, status=mf.STORED, http_status=200,
                object_key=obj_key, content_sha256=hashlib.sha256(body).hexdigest(),
                bytes=len(body), attempts=max(base.attempts, 1), fetched_at=base.fetched_at,
                outcomes=dict(base.outcomes) or {"ok": 1},  # the lost attempt that stored it
            )
        try:
            robots = self.route.robots(url)
        except HostDeferred as exc:
            return self._defer(base, exc)
        except ProxiesExhausted as exc:
            return self._exhausted(base, exc)
        if robots.unreachable:
            # RFC 9309: an unreachable robots.txt means "not now", not "never".
            wait = self.route.wait(FailureClass.TRANSIENT, None)
            self._tally.outcome("A")
            return base.with_attempt(status=mf.PENDING, failure_class=FailureClass.TRANSIENT,
                                     reason="robots.txt unreachable", due_at=self.clock() + wait)
        if not robots.allowed(url):
            self._tally.outcome("disallowed")
            return base.with_attempt(status=mf.DISALLOWED, reason="robots.txt disallows",
                                     failure_class=None, due_at=None)
        due = self.route.delays.claim(urlsplit(url).netloc, robots.crawl_delay, self.clock())
        if due is not None:
            # A Crawl-delay over max_crawl_delay_seconds: one page per delay, the rest wait for a
            # later attempt instead of a sleep inside this step (no request, so no attempt).
            self._tally.outcome("deferred")
            return replace(base, status=mf.PENDING, failure_class=FailureClass.TRANSIENT, due_at=due,
                           reason=f"robots.txt Crawl-delay {robots.crawl_delay:g} s")
        stone = None if self.target.refetch_tombstoned else self.tombstones.skip(url, self.date)
        if stone is not None:
            self._tally.outcome("tombstoned")
            return replace(base, status=mf.GONE, http_status=stone.status, failure_class=FailureClass.HARD,
                           reason=f"tombstoned since {stone.first_seen_gone}: {stone.reason}",
                           object_key=stone.evidence_key, due_at=None)
        try:
            outcome, verdict = self.route.fetch(url)
        except HostDeferred as exc:
            return self._defer(base, exc)
        except ProxiesExhausted as exc:
            return self._exhausted(base, exc)
        if verdict.failure is None:
            if is_suspect(outcome, self.target.record):
                return self._suspect_page(base, obj_key, outcome)
            if base.suspect:
                self._tally.outcome("suspect_cleared")  # the previous answer was the wall
        return self._settle(base, obj_key, outcome, verdict)

    def _settle(self, base: mf.ManifestEntry, obj_key: str, outcome: FetchOutcome,
                verdict: Verdict, confirmed_c: bool = False) -> mf.ManifestEntry:
        """The manifest entry for one answer: stored, gone (D) or pending (A, B)."""
        url, nk = base.url, base.natural_key
        served = mf.response_fields(outcome)
        fetched_at = dt.datetime.fromtimestamp(self.clock(), dt.UTC).isoformat(timespec="seconds")
        if verdict.failure is None:
            body = outcome.body or b""
            wrote = self.store.put_if_absent(obj_key, pack_page(body))
            if wrote:
                self._tally.add(newly_stored=1, bytes_stored=len(body))
            self._tally.outcome("C" if confirmed_c else "ok")
            content_type = outcome.header("content-type")
            return base.with_attempt(
                status=mf.STORED, http_status=outcome.status, reason=SUSPECT_TWICE if
                confirmed_c else "", failure_class=FailureClass.SEMANTIC if confirmed_c else None,
                object_key=obj_key, content_sha256=hashlib.sha256(body).hexdigest(),
                bytes=len(body), fetched_at=fetched_at, due_at=None, **served,
                encoding=sniff_encoding(body, content_type),
            )
        self._tally.outcome(verdict.failure.value)
        if verdict.failure is FailureClass.HARD:
            evidence = keys.evidence_key(self.target.name, self.date, nk)
            self.store.put_if_absent(evidence, evidence_of(outcome))
            oversize = outcome.error is ErrorKind.TOO_LARGE
            if outcome.error not in _OUR_LIMITS:
                self.tombstones.record(url, self.date, outcome.status, verdict.reason, evidence)
            return base.with_attempt(
                status=mf.GONE, http_status=outcome.status, failure_class=FailureClass.HARD,
                reason=verdict.reason, object_key=evidence, fetched_at=fetched_at, due_at=None,
                max_body_bytes=self.target.max_body_bytes if oversize else None, **served,
            )
        wait = self.route.wait(verdict.failure, outcome)
        if verdict.failure is FailureClass.TRANSIENT:
            # The fleet closed the host after failures: retrying before it reopens is wasted.
            wait = max(wait, self.budget.closed_for(urlsplit(url).netloc))
        return base.with_attempt(
            status=mf.PENDING, http_status=outcome.status, failure_class=verdict.failure,
            reason=verdict.reason, fetched_at=fetched_at, due_at=self.clock() + wait, **served,
        )

    # -- suspects: C is confirmed before it counts (suspects.py) ------------------------------
    def _suspect_page(self, base: mf.ManifestEntry, obj_key: str,
                      first: FetchOutcome) -> mf.ManifestEntry:
        """Ask once more through another identity; only the same failure twice is C."""
        self._tally.outcome("suspect")
        if base.suspect:  # the previous attempt's answer was suspect too
            return self._settle(base, obj_key, first, OK, confirmed_c=True)
        base = replace(base, suspect=True)
        proxy = other_proxy(self.proxies, self.target.name, first.proxy_id)
        later = base.with_attempt(
            status=mf.PENDING, http_status=first.status, failure_class=FailureClass.ENVIRONMENTAL,
            reason=SUSPECT, due_at=self.clock() + self.route.wait(FailureClass.ENVIRONMENTAL, None))
        if proxy is None:  # no other identity now: the same client again after a B wait
            return later
        try:
            outcome, verdict = self.route.fetch(base.url, proxy)
        except HostDeferred as exc:  # the host's budget is spent: ask when it reopens
            return replace(later, due_at=max(later.due_at or 0.0, exc.until))
        if verdict.failure is None and is_suspect(outcome, self.target.record):
            return self._settle(base, obj_key, outcome, verdict, confirmed_c=True)
        if verdict.failure is None:
            self._tally.outcome("suspect_cleared")
            self.route.burn(first.proxy_id, SUSPECT)  # the first answer was a wall: B
        return self._settle(base, obj_key, outcome, verdict)

    def _exhausted(self, base: mf.ManifestEntry, exc: ProxiesExhausted) -> mf.ManifestEntry:
        self._tally.outcome("B")
        with self._tally.lock:
            self._tally.exhausted_until = exc.until
        return base.with_attempt(status=mf.PENDING, failure_class=FailureClass.ENVIRONMENTAL,
                                 reason=str(exc), due_at=exc.until)

    def _defer(self, base: mf.ManifestEntry, exc: HostDeferred) -> mf.ManifestEntry:
        """No request was sent, so no attempt is counted; the page is due when the host is."""
        self._tally.outcome("deferred")
        return replace(base, status=mf.PENDING, failure_class=FailureClass.TRANSIENT,
                       reason=f"not sent: {exc}", due_at=exc.until)


def pending_urls(entries: Iterable[mf.ManifestEntry]) -> list[str]:
    return [e.url for e in entries if e.status == mf.PENDING]


__all__ = ["CrawlResult", "HostDeferred", "ListingFailed", "PartitionCrawler", "pending_urls"]
