"""Request counters behind ``GET /_admin/stats`` (admin requests are never counted).

Shape of a snapshot::

    {"total": 12,
     "by_target": {"shop": 10, "robots.txt": 2},     first path segment, "other" if unknown
     "by_status": {"200": 9, "503": 1, "reset": 2},   "reset" = aborted without a response
     "by_client": {"direct": 2, "proxy-0": 10},
     "by_client_status": {"proxy-0": {"200": 8, "reset": 2}},
     "faults": {"reset": 2, "transient": 1},          the verdict kinds injected
     "in_flight": 0, "peak_in_flight": 3,             requests being answered, now and at most
     "peak_per_second": 10,                           most arrivals in one wall-clock second
     "per_second": {"1764604800": 10, ...}}           arrivals per epoch second

Arrivals and in-flight counts are taken when a request reaches the site, before any fault
delay, so they measure what a polite client controls: how many requests it has open and
how fast it starts them.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

TARGETS = ("shop", "news", "jobs", "robots.txt")


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.by_target: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_client: Counter[str] = Counter()
        self.by_client_status: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.faults: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.per_second: Counter[int] = Counter()

    def arrive(self) -> None:
        self.per_second[int(time.time())] += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        self.in_flight -= 1

    def record(self, target: str, client: str, status: int | str, fault: str | None) -> None:
        status = str(status)
        self.total += 1
        self.by_target[target if target in TARGETS else "other"] += 1
        self.by_status[status] += 1
        self.by_client[client] += 1
        self.by_client_status[client][status] += 1
        if fault:
            self.faults[fault] += 1

    def snapshot(self) -> dict:
        return {
            "total": self.total,
            "by_target": dict(self.by_target),
            "by_status": dict(self.by_status),
            "by_client": dict(self.by_client),
            "by_client_status": {c: dict(s) for c, s in self.by_client_status.items()},
            "faults": dict(self.faults),
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "peak_per_second": max(self.per_second.values(), default=0),
            "per_second": {str(k): v for k, v in sorted(self.per_second.items())},
        }
