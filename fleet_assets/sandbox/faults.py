"""Fault knobs of the sandbox and the per-request choice among them.

Every knob is off by default; the names are a contract with tests, benchmarks and the
``fleet sandbox`` command (``POST /_admin/faults`` takes the same JSON object)::

    seed               int     seeds every random choice (per-request RNG, gone selection)
    transient_rate     0..1    answer 500/502/503/504 (mixed)
    reset_rate         0..1    abort the connection with a TCP reset, no response
    truncate_rate      0..1    declare the full Content-Length, send half the body, close
    slow_rate          0..1    delay the response by ``slow_seconds`` (float, default 2.0)
    rate_limit_rate    0..1    429 with ``Retry-After``: ``retry_after`` seconds (int, default 1)
                               written as ``retry_after_form`` "seconds" | "http-date"
    ban_clients        [id]    these clients get 403
    captcha_clients    [id]    these clients get a 200 CAPTCHA interstitial
    ban_rate           0..1    share of requests from proxied clients (not "direct") that get 403
    require_client     bool    client "direct" (no proxy) gets 403
    drift_from         {target: "YYYY-MM-DD"}  item pages of that target from that date on
                               use a redesigned layout (200 OK, configured selectors miss)
    gone_rate          0..1    item pages chosen by hash(seed, target, item) answer 404,
                               half of them 410, while listings still link them
    interstitial_rate  0..1    pages chosen by hash(seed, path) answer their *first* request with
                               a 200 interstitial in a style no default block marker knows
                               (the next request gets the real page): tests the suspect refetch
    only_targets       [name]  restrict the faults above to these targets (default: all)
    robots_disallow    [path]  ``Disallow:`` prefixes in /robots.txt (default: none)
    crawl_delay        number  ``Crawl-delay:`` in /robots.txt (default: absent)

The client id is the ``X-Fleet-Client`` header a sandbox proxy adds; without it the client
is ``"direct"``. Checks run in the order listed in ``FaultState.choose``; /robots.txt and
/_admin/ are never faulted.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import asdict, dataclass, field, fields

from fleet_assets.sandbox.seeded import stable_hash

TRANSIENT_STATUSES = (500, 502, 503, 504)
_RATES = (
    "transient_rate",
    "reset_rate",
    "truncate_rate",
    "slow_rate",
    "rate_limit_rate",
    "ban_rate",
    "gone_rate",
    "interstitial_rate",
)


@dataclass(frozen=True)
class Faults:
    seed: int = 0
    transient_rate: float = 0.0
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    retry_after_form: str = "seconds"
    ban_clients: tuple[str, ...] = ()
    captcha_clients: tuple[str, ...] = ()
    ban_rate: float = 0.0
    require_client: bool = False
    drift_from: dict[str, str] = field(default_factory=dict, hash=False)
    gone_rate: float = 0.0
    interstitial_rate: float = 0.0
    only_targets: tuple[str, ...] | None = None
    robots_disallow: tuple[str, ...] = ()
    crawl_delay: float | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> Faults:
        """Validate a JSON object of knobs; unknown names are an error, never ignored."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault knobs {unknown}; known: {sorted(known)}")
        for name in ("ban_clients", "captcha_clients", "only_targets", "robots_disallow"):
            value = data.get(name)
            if isinstance(value, str):
                data[name] = (value,)
            elif value is not None:
                data[name] = tuple(str(v) for v in value)
        faults = cls(**data)
        faults._check()
        return faults

    def _check(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if self.retry_after_form not in ("seconds", "http-date"):
            raise ValueError("retry_after_form must be 'seconds' or 'http-date'")
        if not isinstance(self.retry_after, int) or self.retry_after < 0:
            raise ValueError("retry_after must be a non-negative int (seconds)")
        if not isinstance(self.seed, int):
            raise ValueError("seed must be an int")
        if not isinstance(self.drift_from, dict):
            raise ValueError("drift_from must map target names to YYYY-MM-DD")
        for date in self.drift_from.values():
            dt.date.fromisoformat(date)

    def to_dict(self) -> dict:
        out = asdict(self)
        for name, value in out.items():
            if isinstance(value, tuple):
                out[name] = list(value)
        return out


@dataclass(frozen=True)
class Verdict:
    """What to do to one request: ``kind`` is None for a normal answer."""

    kind: str | None = None
    status: int = 200
    delay: float = 0.0


NORMAL = Verdict()


class FaultState:
    """The current knobs plus the seeded RNG that draws per-request faults."""

    def __init__(self, faults: Faults | None = None):
        self.set(faults or Faults())

    def set(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._drift = {t: dt.date.fromisoformat(d) for t, d in faults.drift_from.items()}
        self._interstitial_served: set[str] = set()

    def applies(self, target: str) -> bool:
        only = self.faults.only_targets
        return only is None or target in only

    def choose(self, target: str, client: str) -> Verdict:
        f, draw = self.faults, self._rng.random
        if not self.applies(target):
            return NORMAL
        if f.require_client and client == "direct":
            return Verdict("require_client", 403)
        if client in f.ban_clients:
            return Verdict("ban", 403)
        if client in f.captcha_clients:
            return Verdict("captcha", 200)
        if f.ban_rate and client != "direct" and draw() < f.ban_rate:
            return Verdict("ban", 403)
        delay = f.slow_seconds if f.slow_rate and draw() < f.slow_rate else 0.0
        if f.reset_rate and draw() < f.reset_rate:
            return Verdict("reset", 0, delay)
        if f.transient_rate and draw() < f.transient_rate:
            return Verdict("transient", self._rng.choice(TRANSIENT_STATUSES), delay)
        if f.rate_limit_rate and draw() < f.rate_limit_rate:
            return Verdict("rate_limit", 429, delay)
        if f.truncate_rate and draw() < f.truncate_rate:
            return Verdict("truncate", 200, delay)
        return Verdict("slow", 200, delay) if delay else NORMAL

    def gone(self, target: str, item: str) -> int | None:
        """404 or 410 for the items ``gone_rate`` selects, the same on every date."""
        rate = self.faults.gone_rate
        if not rate or not self.applies(target):
            return None
        h = stable_hash("gone", self.faults.seed, target, item)
        if (h % 1_000_000) / 1_000_000 >= rate:
            return None
        return 410 if (h >> 32) & 1 else 404

    def interstitial(self, target: str, path: str) -> bool:
        """True for the first request of a path ``interstitial_rate`` selects, then never."""
        rate = self.faults.interstitial_rate
        if not rate or not self.applies(target) or path in self._interstitial_served:
            return False
        h = stable_hash("interstitial", self.faults.seed, path)
        if (h % 1_000_000) / 1_000_000 >= rate:
            return False
        self._interstitial_served.add(path)
        return True

    def drifted(self, target: str, date: dt.date) -> bool:
        start = self._drift.get(target)
        return start is not None and date >= start
