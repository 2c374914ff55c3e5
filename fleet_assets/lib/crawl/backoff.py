"""How long to wait before the next attempt: exponential backoff with full jitter, Retry-After.

Reads a class policy (``ClassPolicy``, built from ``targets.yaml`` ``retry:`` by
``retry.policies_from``): ``base_seconds``, ``cap_seconds``, ``max_attempts`` and
``retry_after_cap_seconds``.

Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter", Marc Brooker, 2015):
the wait before attempt ``n + 1`` is drawn uniformly from ``[0, min(cap, base * 2**n)]``.
Plain exponential backoff keeps every client that failed together in lock-step, so they all
come back together (the thundering herd); "equal jitter" keeps half of the wait fixed and
so half of the herd. Full jitter spreads the retries over the whole window, which the blog
measured as the least total work and close to the fastest completion. ``attempt`` counts
from 0: the wait after the first failure is drawn from ``[0, base]``.

Class B adds the server's own ``Retry-After`` (RFC 9110 section 10.2.3: delta-seconds or
an HTTP-date): the wait is ``max(min(Retry-After, retry_after_cap), jittered backoff)``, so
a 429 is never retried sooner than the server asked, and a hostile "come back next year"
cannot park a partition forever (the attempt budget still bounds it).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
from dataclasses import dataclass

from fleet_assets.lib.failures import ConfigError

_MAX_EXPONENT = 1000  # 2.0 ** 1024 overflows a float; any cap is reached long before.


@dataclass(frozen=True)
class ClassPolicy:
    """How a retryable class is paced: full jitter between 0 and min(cap, base * 2^attempt)."""

    base_seconds: float
    cap_seconds: float
    max_attempts: int
    retry_after_cap_seconds: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("base_seconds", "cap_seconds", "retry_after_cap_seconds"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0:
                raise ConfigError(f"{name}: expected a number >= 0, got {v!r}")
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) \
                or self.max_attempts < 1:
            raise ConfigError(f"max_attempts: expected an integer >= 1, got {self.max_attempts!r}")


def ceiling(attempt: int, base: float, cap: float) -> float:
    """The top of the jitter window for ``attempt``: min(cap, base * 2**attempt)."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if base < 0 or cap < 0:
        raise ValueError(f"base and cap must be >= 0, got base={base}, cap={cap}")
    return min(cap, base * 2.0 ** min(attempt, _MAX_EXPONENT))


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """A wait drawn uniformly from [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0.0, ceiling(attempt, base, cap))


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value; past dates and negatives give 0.

    Accepts delta-seconds (also a decimal, which some servers send) and HTTP-dates in any
    form ``email.utils`` reads (IMF-fixdate, RFC 850, asctime). Anything else is None, so
    the caller falls back to its own backoff. A naive ``now`` is taken as UTC.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone information
        when = when.replace(tzinfo=dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def next_wait(policy: ClassPolicy, attempt: int, retry_after_seconds: float | None,
              rng: random.Random, retry_after_cap: float | None = None) -> float:
    """max(capped Retry-After, jittered backoff); without Retry-After, the backoff alone."""
    backoff = full_jitter(attempt, policy.base_seconds, policy.cap_seconds, rng)
    if retry_after_seconds is None:
        return backoff
    cap = policy.retry_after_cap_seconds if retry_after_cap is None else retry_after_cap
    return max(min(max(0.0, retry_after_seconds), cap), backoff)

