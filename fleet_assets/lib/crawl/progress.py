"""Progress of one crawl attempt, reported every few seconds while the pages are fetched.

The crawler calls ``start(total, carried)`` once it knows the day's URLs and ``page(entry)``
as each page finishes (from its fetch threads). Pages found early in a listing walk are
fetched while the walk goes on, so ``page`` may come before ``start``: the attempt's clock
starts at whichever comes first, and a report before ``start`` gives the total as unknown.
``Progress`` turns that into a ``ProgressReport`` (pages done of total, pages per second,
pending by class) and hands it to ``emit`` at most once per ``every_seconds`` of its clock,
plus once at the end, so a long partition shows life in the step log and a short one logs
one line. The clock is injected:
tests drive it, the asset passes ``time.monotonic``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from fleet_assets.lib import manifest as mf


@dataclass(frozen=True)
class ProgressReport:
    done: int  # pages finished in this attempt or carried over from earlier ones
    total: int | None  # None until the crawler knows the day's URLs
    attempted: int  # pages this attempt fetched (finished or left pending)
    elapsed_seconds: float
    pending: dict[str, int]  # failure class -> pages left pending for a later attempt
    final: bool

    @property
    def rate(self) -> float:
        """Pages this attempt fetched, per second."""
        return self.attempted / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def event(self) -> str:
        return "fetched" if self.final else "progress"

    def fields(self) -> dict[str, object]:
        """The report as log fields (``lib/logfmt.kv``); ``pending_A=2 ...`` or ``pending=0``."""
        total = "?" if self.total is None else self.total
        return {"pages": f"{self.done}/{total}", "attempted": self.attempted,
                "rate_per_s": round(self.rate, 2), "elapsed_s": round(self.elapsed_seconds, 1),
                "pending": self.pending or 0}


class Progress:
    def __init__(self, emit: Callable[[ProgressReport], None], clock: Callable[[], float],
                 every_seconds: float = 5.0) -> None:
        self.emit, self.clock, self.every_seconds = emit, clock, every_seconds
        self._lock = threading.Lock()
        self._total: int | None = None
        self._carried = self._attempted = 0
        self._pending: Counter[str] = Counter()
        self._started: float | None = None
        self._last = 0.0

    def _begin(self, now: float) -> None:
        if self._started is None:
            self._started = self._last = now

    def start(self, total: int, carried: int) -> None:
        with self._lock:
            self._total, self._carried = total, carried
            self._begin(self.clock())

    def page(self, entry: mf.ManifestEntry) -> None:
        with self._lock:
            self._attempted += 1
            if entry.status == mf.PENDING:
                self._pending[str(entry.failure_class) if entry.failure_class else "?"] += 1
            now = self.clock()
            self._begin(now)
            due = now - self._last >= self.every_seconds
            if due:
                self._last = now
                report = self._report(now, final=False)
        if due:
            self.emit(report)  # outside the lock: a slow logger must not stall the fetch threads

    def finish(self) -> ProgressReport:
        with self._lock:
            report = self._report(self.clock(), final=True)
        self.emit(report)
        return report

    def _report(self, now: float, final: bool) -> ProgressReport:
        pending = sum(self._pending.values())
        return ProgressReport(done=self._carried + self._attempted - pending, total=self._total,
                              attempted=self._attempted,
                              elapsed_seconds=now - (now if self._started is None else self._started),
                              pending=dict(sorted(self._pending.items())), final=final)
