"""What one attempt at a partition produced: the ledger and the counts that prove it.

``PartitionCrawler.run`` returns a ``CrawlResult``; ``retry.decide`` reads its
``pending_by_class`` and ``last_due`` (the moment every pending page, and a failed listing
page, is due) and ``raw_pages`` turns it into materialization or failure metadata.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from fleet_assets.lib import manifest as mf
from fleet_assets.lib.failures import FailureClass, ListingFailed


@dataclass(frozen=True)
class CrawlResult:
    entries: tuple[mf.ManifestEntry, ...]
    requests: int
    listing_requests: int
    newly_stored: int
    carried_over: int
    bytes_stored: int
    outcomes: dict[str, int]  # "ok", a class letter, "reused", "disallowed", "tombstoned"
    proxies_rotated: int
    duration_seconds: float
    attempt: int
    proxies_exhausted_until: float | None = None
    proxies_burned: int = 0  # burned for this target when the attempt ended
    listing_failure: ListingFailed | None = None  # the listing page still to fetch, if any
    listing_dead: ListingFailed | None = None  # the start page is gone (D) or has no links (C)
    finished_at: float = 0.0
    budget_wait_seconds: float = 0.0  # waited for the fleet's per-host budget, all threads

    @property
    def pending(self) -> tuple[mf.ManifestEntry, ...]:
        return tuple(e for e in self.entries if e.status == mf.PENDING)

    @property
    def complete(self) -> bool:
        return not self.pending and self.listing_failure is None

    @property
    def pending_count(self) -> int:
        """Pending pages, the failed listing page included."""
        return len(self.pending) + (self.listing_failure is not None)

    def pending_by_class(self) -> dict[FailureClass, list[str]]:
        """Pending URLs by class; a pending page without a class (never written so) counts as A."""
        out: dict[FailureClass, list[str]] = {}
        if self.listing_failure is not None:
            out[self.listing_failure.failure_class] = [self.listing_failure.url]
        for e in self.pending:
            out.setdefault(e.failure_class or FailureClass.TRANSIENT, []).append(e.url)
        return out

    def _dues(self) -> list[float]:
        dues = [e.due_at for e in self.pending if e.due_at is not None]
        if self.listing_failure is not None:
            dues.append(self.finished_at + self.listing_failure.wait)
        return dues

    def last_due(self) -> float | None:
        """When every pending page is due: no page is retried before its own wait."""
        return max(self._dues(), default=None)

    @property
    def suspects(self) -> int:
        """Pages whose good answer yielded no required field and were asked again."""
        return sum(e.suspect for e in self.entries)

    @property
    def confirmed_c(self) -> int:
        """Suspects whose second answer, to another client, had no required field either."""
        return sum(e.failure_class is FailureClass.SEMANTIC and e.status == mf.STORED
                   for e in self.entries)

    def counts(self) -> dict[mf.Status, int]:
        return mf.summary(self.entries)


@dataclass
class Tally:
    """The running counts of one attempt, shared by the fetch threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    newly_stored: int = 0
    bytes_stored: int = 0
    rotated: int = 0
    listing_requests: int = 0
    budget_wait: float = 0.0
    exhausted_until: float | None = None
    outcomes: Counter = field(default_factory=Counter)

    def add(self, **kv: int) -> None:
        with self.lock:
            for k, v in kv.items():
                setattr(self, k, getattr(self, k) + v)

    def outcome(self, label: str) -> None:
        with self.lock:
            self.outcomes[label] += 1
