"""The per-target circuit breaker as a pure function of recorded events.

States: ``closed`` (work flows), ``open`` (a blocking drift check failed: the target's work is
refused until a human resets it) and ``half_open`` (reset: the next partition is a probe;
passing checks close the circuit, a failing check opens it again).

Nothing is stored here: the state is *derived* from two kinds of facts that live in the
orchestrator's storage, so concurrent runs and other machines always agree:

* ``Evaluation``: the latest completed blocking check evaluation of one partition of the target;
* ``Reset``: the latest reset of the target (``fleet reset-circuit`` or the reset job).

Rule: with ``R`` the last reset (or the beginning of time), the circuit is open iff some
ERROR evaluation failed after ``R`` (opened by the earliest one); otherwise half-open if a
reset exists and nothing passed after it, else closed. Passing checks never close an open
circuit: only a reset does, then a passing probe.

An *opening* is identified by ``(target, epoch)``, the epoch being the reset that started the
period (its storage id and time) or, before any reset, the target's first recorded
partition (``genesis``, so that a wiped instance starts new epochs); every observer of the
same opening, on any machine, computes the same key, which is what alert de-duplication needs.

Settings read: none (the reset command is fixed text, ``RESET_COMMAND``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
RESET_COMMAND = "fleet reset-circuit {target}"
RESET_JOB = "reset_circuit"


@dataclass(frozen=True)
class CircuitState:
    target: str
    status: str  # "closed" | "open" | "half_open"
    since: float | None
    reason: str
    evidence_partition: str | None


@dataclass(frozen=True)
class Evaluation:
    """One partition's latest completed evaluation of one blocking check."""

    partition: str
    check: str
    passed: bool
    severity: str  # "ERROR" | "WARN"
    storage_id: int
    timestamp: float
    description: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def trips(self) -> bool:
        return not self.passed and self.severity == "ERROR"


@dataclass(frozen=True)
class Reset:
    storage_id: int
    timestamp: float
    by: str = ""


@dataclass(frozen=True)
class Derived:
    """The public state plus what alerts and guards need to know about it."""

    state: CircuitState
    reset: Reset | None = None
    opened_by: Evaluation | None = None

    def epoch(self, genesis: tuple[int, float] = (0, 0.0)) -> str:
        """The period the state belongs to: the last reset, else the target's ``genesis``."""
        if self.reset is not None:
            return f"r{self.reset.storage_id}-{int(self.reset.timestamp * 1000)}"
        return f"g{genesis[0]}-{int(genesis[1] * 1000)}"

    def opening_key(self, genesis: tuple[int, float] = (0, 0.0)) -> str:
        """Identity of the opening this state is in or would start, equal for every observer."""
        return f"{self.state.target}@{self.epoch(genesis)}"


def derive(target: str, evaluations: Iterable[Evaluation], last_reset: Reset | None) -> Derived:
    after = last_reset.storage_id if last_reset else 0
    recent = sorted((e for e in evaluations if e.storage_id > after), key=lambda e: e.storage_id)
    trip = next((e for e in recent if e.trips), None)
    if trip is not None:
        reason = f"check {trip.check} failed on {trip.partition}: {trip.description}"
        if last_reset and not any(e.passed for e in recent if e.storage_id < trip.storage_id):
            reason = f"probe after reset: {reason}"
        return Derived(CircuitState(target, OPEN, trip.timestamp, reason, trip.partition),
                       last_reset, trip)
    if last_reset and not any(e.passed for e in recent):
        when = _iso(last_reset.timestamp)
        return Derived(CircuitState(target, HALF_OPEN, last_reset.timestamp,
                                    f"reset at {when}{' by ' + last_reset.by if last_reset.by else ''}"
                                    "; the next partition is a probe", None), last_reset)
    if last_reset:
        probe = next(e for e in recent if e.passed)
        return Derived(CircuitState(target, CLOSED, probe.timestamp,
                                    f"probe {probe.partition} passed after the reset", None),
                       last_reset)
    return Derived(CircuitState(target, CLOSED, None, "no blocking check has failed", None))


def refusal(state: CircuitState, what: str) -> str:
    """The fail-fast message for work refused while the circuit is open."""
    return (
        f"circuit for target {state.target!r} is open since {_iso(state.since)}: {state.reason}. "
        f"Refusing {what}. Fix the target's rules in targets.yaml, then run "
        f"`{RESET_COMMAND.format(target=state.target)}` (or launch the `{RESET_JOB}` job with "
        f"config target={state.target}); the next partition is a probe."
    )


def _iso(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")
