"""The route of one request of a partition crawl: proxy, the host's fleet budget, robots.txt.

Every request of an attempt (item pages, listing pages, robots.txt) goes the same way: a
proxy of the target's pool (when it has one), a lease from the host's fleet-wide budget
(``budget.py``; a host without room soon enough raises ``HostDeferred``), the fetcher, and
one verdict from the taxonomy. A B verdict burns the proxy for the target, resting it for
the server's ``Retry-After`` when one was given. ``robots`` caches robots.txt per origin for
the attempt and turns its ``Crawl-delay`` into the host's interval (``robots.py``).

Reads from the target: ``politeness`` (max_concurrency, requests_per_second, obey_robots,
max_crawl_delay_seconds) and ``timeout_seconds``; the class policies for waits.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from fleet_assets.lib.crawl.backoff import ClassPolicy, full_jitter, next_wait, parse_retry_after
from fleet_assets.lib.crawl.budget import Deferred, HostBudget, Lease
from fleet_assets.lib.crawl.listing import ListingPage
from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool
from fleet_assets.lib.crawl.ratelimit import Limits
from fleet_assets.lib.crawl.result import Tally
from fleet_assets.lib.crawl.robots import CrawlDelays, RobotsPolicy
from fleet_assets.lib.crawl.suspects import SUSPECT, other_proxy, proxy_by_id
from fleet_assets.lib.failures import (
    ErrorKind,
    FailureClass,
    FetchOutcome,
    FleetError,
    ListingFailed,
    ProxiesExhausted,
    Verdict,
)
from fleet_assets.lib.http.fetcher import Fetcher
from fleet_assets.lib.targets import Target
from fleet_assets.lib.taxonomy import Taxonomy
from fleet_assets.lib.urlrefs import redact_outcome

Clock = Callable[[], float]


class HostDeferred(FleetError):
    """The host's shared budget has no room soon enough: the page waits for ``until``."""

    def __init__(self, deferred: Deferred) -> None:
        super().__init__(f"host {deferred.host} busy: {deferred.reason}")
        self.until, self.reason = deferred.until, deferred.reason


class Route:
    """How one attempt's requests reach a target (one per ``PartitionCrawler``, thread-safe)."""

    def __init__(self, target: Target, fetcher: Fetcher, taxonomy: Taxonomy,
                 policies: dict[FailureClass, ClassPolicy], proxies: ProxyPool | None,
                 budget: HostBudget, tally: Tally, clock: Clock, rng: random.Random,
                 attempt: int) -> None:
        self.target, self.fetcher, self.taxonomy, self.policies = target, fetcher, taxonomy, policies
        self.proxies, self.budget, self.tally, self.clock = proxies, budget, tally, clock
        self.rng, self.attempt = rng, attempt
        self._crawl_delay: dict[str, float] = {}
        # Once the budget defers a host, its other pages are deferred without asking again,
        # so an attempt never waits ``max_wait`` once per page.
        self._deferred: dict[str, Deferred] = {}
        self._robots: dict[str, RobotsPolicy] = {}
        self._robots_lock = threading.Lock()
        self.delays = CrawlDelays(target.politeness.max_crawl_delay_seconds)

    def fetch(self, url: str, proxy: Proxy | None = None,
               listing: bool = False) -> tuple[FetchOutcome, Verdict]:
        """One request and its verdict (classified once); a B verdict burns the proxy."""
        if proxy is None and self.proxies is not None and self.proxies.size:
            proxy = self.proxies.pick_or_raise(self.target.name)
        lease = self.lease(url)
        try:
            self.tally.add(requests=1, listing_requests=int(listing))
            # A secret in the URL (``?key=${VAR}``) is expanded for this request only.
            outcome = redact_outcome(
                self.fetcher.fetch(self.target.request_url(url), proxy=proxy), url)
        except BaseException:
            self.budget.release(lease, "aborted")
            raise
        verdict = self.taxonomy.classify(outcome)
        self.budget.release(lease, "host_error" if verdict.failure is FailureClass.TRANSIENT
                            else "ok")
        if outcome.error in (ErrorKind.OFFSITE, ErrorKind.REDIRECT_REFUSED):
            self.tally.outcome("offsite")  # refused, never fetched (lib/http/origins.py)
        if verdict.failure is FailureClass.ENVIRONMENTAL and proxy is not None:
            # A Retry-After says how long this client must rest; without one, the pool's cooldown.
            retry_after = parse_retry_after(
                outcome.header("retry-after"), dt.datetime.fromtimestamp(self.clock(), dt.UTC))
            cooldown = None if retry_after is None else min(
                retry_after, self.policies[FailureClass.ENVIRONMENTAL].retry_after_cap_seconds)
            self.proxies.burn(self.target.name, proxy, verdict.reason,  # type: ignore[union-attr]
                              cooldown=cooldown)
            self.tally.add(rotated=1)
        return outcome, verdict

    def lease(self, url: str) -> Lease:
        """The fleet's permission to send one request to the URL's host (waits briefly)."""
        host = urlsplit(url).netloc
        known = self._deferred.get(host)
        if known is not None and known.until > self.clock():
            raise HostDeferred(known)
        p = self.target.politeness
        limits = Limits.for_politeness(p.max_concurrency, p.requests_per_second,
                                       self._crawl_delay.get(host, 0.0), self.target.timeout_seconds)
        got = self.budget.acquire(host, limits)
        if isinstance(got, Deferred):
            self._deferred[host] = got
            raise HostDeferred(got)
        with self.tally.lock:
            self.tally.budget_wait += got.waited
        return got

    def wait(self, failure: FailureClass, outcome: FetchOutcome | None) -> float:
        policy = self.policies[failure]
        if failure is FailureClass.ENVIRONMENTAL and outcome is not None:
            retry_after = parse_retry_after(
                outcome.header("retry-after"), dt.datetime.fromtimestamp(self.clock(), dt.UTC)
            )
            return next_wait(policy, self.attempt, retry_after, self.rng)
        return full_jitter(self.attempt, policy.base_seconds, policy.cap_seconds, self.rng)

    def robots(self, url: str) -> RobotsPolicy:
        if not self.target.politeness.obey_robots:
            return RobotsPolicy.allow_all()
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            policy = self._robots.get(origin)
            if policy is None:
                # The same route as the pages: a proxy of the pool, the host's budget.
                proxy: Proxy | None = None
                if self.proxies is not None and self.proxies.size:
                    proxy = self.proxies.pick_or_raise(self.target.name)
                lease = self.lease(f"{origin}/robots.txt")
                try:
                    self.tally.add(requests=1)
                    outcome = self.fetcher.fetch(f"{origin}/robots.txt", proxy=proxy)
                except BaseException:
                    self.budget.release(lease, "aborted")
                    raise
                policy = RobotsPolicy.from_response(outcome.status, outcome.body)
                self.budget.release(lease, "host_error" if policy.unreachable else "ok")
                if not policy.unreachable:
                    self._robots[origin] = policy
                interval = self.delays.interval(policy.crawl_delay)
                if interval:
                    self._crawl_delay[parts.netloc] = interval
        return policy

    def burn(self, proxy_id: str | None, reason: str) -> None:
        proxy = proxy_by_id(self.proxies, proxy_id)
        if proxy is not None and self.proxies is not None:
            self.proxies.burn(self.target.name, proxy, reason)
            self.tally.add(rotated=1)

    # -- listing pages (listing.py walks them; they go the same way) -----------------------
    def listing_page(self, url: str) -> ListingPage:
        try:
            robots = self.robots(url)  # listing pages obey robots.txt like item pages
            if robots.unreachable:
                raise ListingFailed(url, FailureClass.TRANSIENT, "robots.txt unreachable",
                                    self.wait(FailureClass.TRANSIENT, None))
            if not robots.allowed(url):
                self.tally.outcome("listing_disallowed")
                raise ListingFailed(url, FailureClass.HARD, "robots.txt disallows this listing page",
                                    0.0)
            outcome, verdict = self.fetch(url, listing=True)
        except HostDeferred as exc:
            self.tally.outcome("deferred")
            raise ListingFailed(url, FailureClass.TRANSIENT, str(exc),
                                max(0.0, exc.until - self.clock())) from None
        except ProxiesExhausted as exc:
            raise ListingFailed(url, FailureClass.ENVIRONMENTAL, str(exc),
                                max(0.0, exc.until - self.clock()),
                                proxies_exhausted=True) from None
        return self._listing_answer(url, outcome, verdict)

    def _listing_answer(self, url: str, outcome: FetchOutcome, verdict: Verdict) -> ListingPage:
        if verdict.failure is not None:
            self.tally.outcome(f"listing_{verdict.failure.value}")
            wait = self.wait(verdict.failure, outcome) if verdict.failure.retryable else 0.0
            raise ListingFailed(url, verdict.failure, verdict.reason, wait)
        return ListingPage(outcome.body or b"", outcome.effective_url,
                           outcome.header("content-type"), outcome.proxy_id)

    def listing_refetch(self, url: str, first: ListingPage) -> ListingPage:
        """A listing page without links, asked once more through another identity."""
        self.tally.outcome("suspect")
        proxy = other_proxy(self.proxies, self.target.name, first.proxy_id)
        if proxy is None:
            raise ListingFailed(url, FailureClass.ENVIRONMENTAL, SUSPECT,
                                self.wait(FailureClass.ENVIRONMENTAL, None))
        try:
            outcome, verdict = self.fetch(url, proxy, listing=True)
        except HostDeferred as exc:
            raise ListingFailed(url, FailureClass.ENVIRONMENTAL, SUSPECT,
                                max(0.0, exc.until - self.clock())) from None
        return self._listing_answer(url, outcome, verdict)
