"""Request counters behind ``GET /_admin/stats`` (admin requests are never counted).

Shape of a snapshot::

    {"total": 12,
     "by_target": {"shop": 10, "robots.txt": 2},     first path segment, "other" if unknown
     "by_status": {"200": 9, "503": 1, "reset": 2},   "reset" = aborted without a response
     "by_client": {"direct": 2, "proxy-0": 10},
     "by_client_status": {"proxy-0": {"200": 8, "reset": 2}},
     "faults": {"reset": 2, "transient": 1}}          the verdict kinds injected
"""

from __future__ import annotations

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
        }
