"""When to launch a partition: the daily launch time of a target and durable recoveries.

Pure decisions for ``fleet_assets/automation/sensors.py``; every input comes from the caller, so the
same history always gives the same answer.

Settings (passed in by the caller, defaults in ``automation/sensors.py``):

- ``launch_hour`` (UTC) and ``jitter_seconds``: a target's daily partition is due at
  ``launch_hour`` plus a deterministic per-target offset in ``[0, jitter_seconds)``, so the
  fleet does not hit the network in the same second and a target keeps its slot every day.
- ``max_recoveries``: how many recovery runs one partition gets after it failed with class A
  or B; counted from the runs that carry the recovery tag, never from a stored counter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from fleet_assets.lib.failures import FailureClass

RECOVERABLE = (FailureClass.TRANSIENT, FailureClass.ENVIRONMENTAL)


def launch_offset_seconds(target: str, jitter_seconds: int) -> int:
    """A stable offset in ``[0, jitter_seconds)`` derived from the target name."""
    if jitter_seconds <= 0:
        return 0
    digest = hashlib.sha256(f"launch|{target}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % jitter_seconds


def daily_partition_date(now: dt.datetime) -> str:
    """The newest complete day at ``now``: yesterday (UTC)."""
    return (now.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


def launch_time(date: str, target: str, launch_hour: int, jitter_seconds: int) -> dt.datetime:
    """When ``target``'s partition for ``date`` is due: the next day at launch_hour + offset."""
    if not 0 <= launch_hour <= 23:
        raise ValueError(f"launch_hour={launch_hour!r}: use an hour from 0 to 23 (UTC)")
    day = dt.datetime.combine(dt.date.fromisoformat(date) + dt.timedelta(days=1),
                              dt.time(launch_hour), tzinfo=dt.UTC)
    return day + dt.timedelta(seconds=launch_offset_seconds(target, jitter_seconds))


@dataclass(frozen=True)
class RecoveryDecision:
    launch: bool
    reason: str
    recovery_number: int = 0  # the number the new recovery run gets (1-based) when launch


def decide_recovery(failure_class: FailureClass | None, due_at: float | None, recoveries: int,
                    max_recoveries: int, now: float, will_retry: bool = False) -> RecoveryDecision:
    """Whether a partition whose latest run failed gets a recovery run now, and why (not)."""
    if will_retry:
        return RecoveryDecision(False, "the run will be retried by Dagster's run retries")
    if failure_class not in RECOVERABLE:
        what = f"class {failure_class}" if failure_class else "an unclassified failure"
        return RecoveryDecision(False, f"{what} is not recovered (only A and B are)")
    if recoveries >= max_recoveries:
        return RecoveryDecision(False, f"{recoveries}/{max_recoveries} recoveries used")
    if due_at is not None and now < due_at:
        return RecoveryDecision(False, f"backoff until {_iso(due_at)} ({due_at - now:.0f}s)")
    return RecoveryDecision(True, f"class {failure_class} due since {_iso(due_at or now)}; "
                                  f"recovery {recoveries + 1}/{max_recoveries}", recoveries + 1)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")
