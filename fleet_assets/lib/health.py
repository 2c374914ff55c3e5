"""Fleet health: derive each target's state from what its recent partitions went through.

States, checked in this order (the first that applies wins)::

    Gone        the target left targets.yaml (its partitions and data are kept), or every
                page of its newest partition is gone (class D only)
    Halted      its circuit is open, or its newest partition failed and will not be
                recovered (class C/D/unclassified, or its recoveries are used up)
    Recovering  its circuit is half-open, or a recovery run of one of its partitions is
                queued or running
    Rotating    a recent partition failed with class B and waits for its recovery
    Retrying    a recent partition failed with class A and waits for its recovery
    Healthy     its recent partitions succeeded
    Idle        no partition of it has run yet

Inputs are plain records built by ``fleet_assets/state/history.py`` from the Dagster instance;
nothing here reads a clock or a file. Setting: ``max_recoveries`` (same meaning as in
``scheduling.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fleet_assets.lib.failures import FailureClass
from fleet_assets.lib.scheduling import RECOVERABLE

STATES = ("Healthy", "Retrying", "Rotating", "Recovering", "Halted", "Gone", "Idle")
CLASSES = tuple(FailureClass)  # A B C D; a StrEnum still finds the letters of metadata keys
IN_FLIGHT = ("queued", "started")


def class_of(value: object) -> FailureClass | None:
    """A failure class read back from metadata or a snapshot (the edge); else unclassified."""
    try:
        return FailureClass(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class PartitionObservation:
    """The latest run of one date x target partition and what its steps reported."""

    date: str
    run_status: str  # queued | started | success | failure | canceled
    is_recovery: bool = False
    failure_class: FailureClass | None = None  # of raw_pages, when the latest run failed there
    recoveries: int = 0
    outcomes: Mapping[str, int] = field(default_factory=dict)  # ok, A, B, C, D page counts
    succeeded_at: float | None = None  # latest raw_pages materialization of this partition

    def __post_init__(self) -> None:  # a letter read back from metadata becomes the class
        object.__setattr__(self, "failure_class", class_of(self.failure_class))


@dataclass(frozen=True)
class TargetHealth:
    target: str
    state: str
    reason: str
    counts: Mapping[str, int]
    partitions: int
    failed_partitions: int
    circuit: str
    last_success: float | None

    def last_success_text(self) -> str:
        if self.last_success is None:
            return "never"
        return dt.datetime.fromtimestamp(self.last_success, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def derive(target: str, observations: Sequence[PartitionObservation], circuit: str,
           circuit_reason: str = "", configured: bool = True,
           max_recoveries: int = 3) -> TargetHealth:
    """The state of ``target`` from its recent partitions, newest date first or any order."""
    obs = sorted(observations, key=lambda o: o.date, reverse=True)
    counts = {c: sum(int(o.outcomes.get(c, 0)) for o in obs) for c in CLASSES}
    failed = [o for o in obs if o.run_status == "failure"]
    successes = [o.succeeded_at for o in obs if o.succeeded_at is not None]

    def result(state: str, reason: str) -> TargetHealth:
        return TargetHealth(target, state, reason, counts, len(obs), len(failed), circuit,
                            max(successes) if successes else None)

    newest = obs[0] if obs else None
    if not configured:
        return result("Gone", "removed from targets.yaml; its partitions and data are kept")
    if newest and _all_gone(newest):
        return result("Gone", f"every page of {newest.date} is gone (class D)")
    if circuit == "open":
        return result("Halted", f"circuit open: {circuit_reason}".rstrip(": "))
    if newest and newest.run_status == "failure" and not _awaits_recovery(newest, max_recoveries):
        return result("Halted", f"{newest.date} failed ({_failure_text(newest, max_recoveries)})")
    if circuit == "half_open":
        return result("Recovering", f"circuit half-open: {circuit_reason}".rstrip(": "))
    recovering = [o for o in obs if o.is_recovery and o.run_status in IN_FLIGHT]
    if recovering:
        return result("Recovering", f"recovery run of {_dates(recovering)} in flight")
    waiting = [o for o in failed if _awaits_recovery(o, max_recoveries)]
    rotating = [o for o in waiting if o.failure_class is FailureClass.ENVIRONMENTAL]
    if rotating:
        return result("Rotating", f"{_dates(rotating)} blocked (class B), recovery pending")
    if waiting:
        return result("Retrying", f"{_dates(waiting)} failed (class A), recovery pending")
    if not obs:
        return result("Idle", "no partition has run yet")
    if not successes:
        return result("Idle", f"{_dates(obs)} not finished yet")
    return result("Healthy", f"{len(obs) - len(failed)}/{len(obs)} recent partitions ok")


def _awaits_recovery(o: PartitionObservation, max_recoveries: int) -> bool:
    return o.failure_class in RECOVERABLE and o.recoveries < max_recoveries


def _failure_text(o: PartitionObservation, max_recoveries: int) -> str:
    if o.failure_class in RECOVERABLE:
        return f"class {o.failure_class}, {o.recoveries}/{max_recoveries} recoveries used"
    return f"class {o.failure_class}" if o.failure_class else "unclassified failure"


def _all_gone(o: PartitionObservation) -> bool:
    return (o.run_status == "success" and int(o.outcomes.get("D", 0)) > 0
            and not any(int(o.outcomes.get(k, 0)) for k in ("ok", "A", "B")))


def _dates(obs: Iterable[PartitionObservation]) -> str:
    dates = sorted({o.date for o in obs})
    return ", ".join(dates[:3]) + (f" (+{len(dates) - 3})" if len(dates) > 3 else "")


def table_rows(health: Iterable[TargetHealth]) -> list[list[str]]:
    """Header plus one row per target, shared by the asset's markdown and ``fleet status``."""
    rows = [["target", "state", *CLASSES, "partitions", "failed", "circuit", "last success",
             "reason"]]
    for h in sorted(health, key=lambda h: h.target):
        rows.append([h.target, h.state, *(str(h.counts[c]) for c in CLASSES), str(h.partitions),
                     str(h.failed_partitions), h.circuit, h.last_success_text(), h.reason])
    return rows


def markdown(health: Iterable[TargetHealth]) -> str:
    rows = table_rows(health)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def text_table(health: Iterable[TargetHealth]) -> str:
    rows = table_rows(health)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
                     for r in rows)
