"""The partition manifest: one JSON line per URL, the proof that a partition is complete.

Fields: ``url``, ``natural_key``, ``status`` (``stored`` | ``gone`` | ``pending`` |
``disallowed``), ``http_status``, ``failure_class`` (A-D or null), ``reason``,
``object_key``, ``content_sha256`` and ``bytes`` (of the decoded body), ``attempts``,
``fetched_at``, ``due_at``; and what the server said (``response_fields``): ``final_url``
(after redirects: links and ``type: url`` fields resolve against it), ``redirects`` (the
URLs that answered with a redirect, in order), ``content_type`` (its charset decodes the
body), ``content_language``, ``etag``, ``last_modified`` (null when absent, and in manifests
written before these fields existed, which stay readable); ``encoding`` (the encoding the
body was read with); ``max_body_bytes`` on a page that was over the size cap (a raised cap
fetches it again); ``suspect`` on a page whose good answer yielded no required field and
was asked again (``crawl/crawler.py``); ``outcomes``: how every attempt on the URL ended, counted by label
(``ok``, ``disallowed`` or its failure class A-D), across step attempts and runs, so the
manifest is the partition's ledger of attempts (``ledger`` sums it; ``fleet status`` shows
it). ``status`` and ``failure_class`` are parsed into ``Status`` and
``FailureClass`` when an entry is built, so nothing downstream compares bare strings (a
``StrEnum`` still serialises as its value). The file is sorted by URL and serialised with
sorted keys, so the same ledger is always the same bytes; ``fetched_at`` and ``due_at`` are
the only wall-clock values and neither is part of a key. A re-run carries finished entries
over unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from fleet_assets.lib.failures import FailureClass, FetchOutcome


class Status(StrEnum):
    STORED = "stored"
    GONE = "gone"
    PENDING = "pending"
    DISALLOWED = "disallowed"


STORED, GONE, PENDING, DISALLOWED = Status.STORED, Status.GONE, Status.PENDING, Status.DISALLOWED
TERMINAL = frozenset({STORED, GONE, DISALLOWED})
STATUSES = frozenset(Status)


@dataclass(frozen=True)
class ManifestEntry:
    url: str
    natural_key: str
    status: Status
    http_status: int | None = None
    failure_class: FailureClass | None = None
    reason: str = ""
    object_key: str | None = None
    content_sha256: str | None = None
    bytes: int = 0
    attempts: int = 0
    fetched_at: str | None = None
    due_at: float | None = None
    final_url: str | None = None
    redirects: tuple[str, ...] = ()
    content_type: str | None = None
    content_language: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    encoding: str | None = None
    max_body_bytes: int | None = None  # set on a page found over the cap: the cap then in force
    suspect: bool = False  # an answer yielded no required field: asked again as another client
    outcomes: dict[str, int] = field(default_factory=dict, hash=False)  # attempts by ending

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "status", Status(self.status))
        except ValueError:
            raise ValueError(f"manifest status {self.status!r} is not one of "
                             f"{sorted(s.value for s in Status)}") from None
        if self.failure_class is not None:
            try:
                object.__setattr__(self, "failure_class", FailureClass(self.failure_class))
            except ValueError:
                raise ValueError(f"manifest failure_class {self.failure_class!r} is not one of "
                                 "A, B, C, D or null") from None
        if not isinstance(self.redirects, tuple):  # a list when read back from JSON
            object.__setattr__(self, "redirects", tuple(self.redirects or ()))

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def with_attempt(self, **changes: object) -> ManifestEntry:
        """The entry after one more attempt, counted in ``outcomes`` by how it ended."""
        entry = replace(self, attempts=self.attempts + 1, **changes)  # type: ignore[arg-type]
        label = attempt_label(entry)
        return replace(entry, outcomes={**self.outcomes, label: self.outcomes.get(label, 0) + 1})


def attempt_label(entry: ManifestEntry) -> str:
    """How an attempt that left ``entry`` ended: ok, disallowed, or its failure class."""
    if entry.status == STORED:
        # a page stored as confirmed C (crawl/suspects.py) ended as C, not as a good page
        return "C" if entry.failure_class is FailureClass.SEMANTIC else "ok"
    if entry.status == DISALLOWED:
        return "disallowed"
    return str(entry.failure_class.value) if entry.failure_class else "unclassified"


_KEPT_HEADERS = ("content_type", "content_language", "etag", "last_modified")


def response_fields(outcome: FetchOutcome | None) -> dict[str, Any]:
    """What the server said about a page, as manifest fields (``ManifestEntry`` keywords)."""
    if outcome is None:
        return {}
    answered = outcome.status is not None
    fields: dict[str, Any] = {"final_url": outcome.effective_url if answered else None,
                              "redirects": tuple(outcome.redirects)}
    for name in _KEPT_HEADERS:
        fields[name] = outcome.header(name.replace("_", "-"))
    return fields


def dumps(entries: Iterable[ManifestEntry]) -> bytes:
    lines = [
        json.dumps({**e.__dict__, "redirects": list(e.redirects)}, sort_keys=True,
                   separators=(",", ":"), ensure_ascii=False)
        for e in sorted(entries, key=lambda e: e.url)
    ]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def loads(data: bytes) -> list[ManifestEntry]:
    entries = []
    for n, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(ManifestEntry(**json.loads(line)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"manifest line {n} is not a manifest entry: {exc}") from None
    return entries


def summary(entries: Iterable[ManifestEntry]) -> dict[Status, int]:
    counts = {s: 0 for s in sorted(Status)}
    for e in entries:
        counts[e.status] += 1
    return counts


def ledger(entries: Iterable[ManifestEntry]) -> dict[str, int]:
    """Every attempt of the partition by how it ended: the sum of the entries' ``outcomes``."""
    totals: dict[str, int] = {}
    for e in entries:
        for label, n in e.outcomes.items():
            totals[label] = totals.get(label, 0) + n
    return totals
