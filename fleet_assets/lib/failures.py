"""The failure taxonomy: every fetch outcome falls into exactly one class, and the class decides.

Classes and the response each one gets::

    A  TRANSIENT      wait and retry: full-jitter backoff, capped attempts (``crawl/retry.py``)
    B  ENVIRONMENTAL  burn the proxy for the target, rotate, wait max(Retry-After, backoff)
    C  SEMANTIC       no retry: a stored page yields no record (found by the records step,
                      not by ``classify``); the drift checks judge the partition
    D  HARD           no retry: tombstone the URL, keep the response as evidence

The rule table that maps each fetch outcome to its class, with per-target overrides, is
``taxonomy.py`` (``Taxonomy.classify``).

Exceptions (callers branch on the class, never on the message)::

    FleetError
     ├── ConfigError                 bad settings; also a ValueError; the message names the fix
     │    ├── TargetConfigError      targets.yaml is invalid (``lib/config.py``)
     │    └── StoreConfigError       the bucket or credentials are wrong (``store/s3.py``)
     ├── StoreError                  the object store could not complete an operation: class A
     ├── ObjectMissing               no object at that key; also a KeyError
     ├── CorruptObject               a stored object fails its check, quarantined (``store/base.py``)
     ├── BodyTooLarge                a body passed the cap; the fetcher reports ``too_large``
     ├── BadURL                      no http(s) URL, or a trick; a ValueError; ``invalid_url``
     ├── Offsite                     outside the target's origins or a refused address: ``offsite``
     ├── HostDeferred                the host's shared budget has no room soon (``crawl/route.py``)
     ├── CliError                    bad command-line input; ``fleet`` prints it (``cli/common.py``)
     │    └── BackfillError          a backfill could not be launched or followed
     └── FetchFailed(failure_class, reason)
          ├── ListingFailed          a listing page failed; ``.url``, ``.wait`` (seconds)
          └── ProxiesExhausted       B: every proxy is burned for the target; ``.until`` (epoch)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FailureClass(StrEnum):
    TRANSIENT = "A"
    ENVIRONMENTAL = "B"
    SEMANTIC = "C"
    HARD = "D"

    @property
    def retryable(self) -> bool:
        return self in (FailureClass.TRANSIENT, FailureClass.ENVIRONMENTAL)


class ErrorKind(StrEnum):
    """Transport-level errors the fetcher reports instead of raising."""

    DNS = "dns"
    CONNECT_TIMEOUT = "connect_timeout"
    READ_TIMEOUT = "read_timeout"
    CONNECTION_RESET = "connection_reset"
    CONNECTION_REFUSED = "connection_refused"
    TLS_ERROR = "tls_error"
    TRUNCATED_BODY = "truncated_body"
    DECODE_ERROR = "decode_error"
    TOO_LARGE = "too_large"
    PROXY_ERROR = "proxy_error"
    INVALID_URL = "invalid_url"
    REDIRECT_LOOP = "redirect_loop"
    REDIRECT_REFUSED = "redirect_refused"
    OFFSITE = "offsite"
    MALFORMED_RESPONSE = "malformed_response"


A, B, C, D = (FailureClass.TRANSIENT, FailureClass.ENVIRONMENTAL, FailureClass.SEMANTIC,
              FailureClass.HARD)

# -- exceptions ------------------------------------------------------------------------------
class FleetError(Exception):
    """Root of every error fleet_assets raises on purpose."""


class ConfigError(FleetError, ValueError):
    """Settings are invalid; the message names the key, the bad value and the fix."""


class StoreError(FleetError):
    """The store could not complete an operation: an infrastructure failure, class A."""


class ObjectMissing(FleetError, KeyError):
    """No object at that key."""


class FetchFailed(FleetError):
    """A request (or a page's worth of them) ended in a failure class that the caller acts on."""

    def __init__(self, failure_class: FailureClass, reason: str, message: str | None = None) -> None:
        super().__init__(message or f"{failure_class.value}: {reason}")
        self.failure_class, self.reason = failure_class, reason


class ListingFailed(FetchFailed):
    """A listing page could not be fetched; carries the page's failure class and wait."""

    def __init__(self, url: str, failure: FailureClass, reason: str, wait: float,
                 proxies_exhausted: bool = False) -> None:
        super().__init__(failure, reason, f"listing page {url} failed ({failure.value}): {reason}")
        self.url, self.wait, self.proxies_exhausted = url, wait, proxies_exhausted


class ProxiesExhausted(FetchFailed):
    """Every proxy of the pool is burned for ``target``; the first comes back at ``until``."""

    def __init__(self, target: str, until: float, proxies: int) -> None:
        when = dt.datetime.fromtimestamp(until, dt.UTC).isoformat(timespec="seconds")
        super().__init__(B, f"all {proxies} proxies are burned for {target} until {when}")
        self.target, self.until, self.proxies = target, until, proxies


# -- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FetchOutcome:
    """What one request produced: a response, a transport error, or both (a spoiled body)."""

    url: str
    status: int | None
    headers: Mapping[str, str]
    body: bytes | None = field(repr=False)
    error: ErrorKind | None
    proxy_id: str | None
    credentials_worked_before: bool = False
    final_url: str | None = None  # after redirects; None when the request never got an answer
    redirects: tuple[str, ...] = ()  # the URLs that answered with a redirect, in order

    @property
    def effective_url(self) -> str:
        """The URL the body came from: links and relative fields resolve against it."""
        return self.final_url or self.url

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup (HTTP field names are case-insensitive)."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), default)


@dataclass(frozen=True)
class Verdict:
    failure: FailureClass | None  # None = good page
    reason: str
    retryable: bool

    @property
    def ok(self) -> bool:
        return self.failure is None


OK = Verdict(None, "ok", False)


def parse_mapping(value: Any, where: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping like {{\"403\": A}}, "
                          f"got {type(value).__name__}")
    return value


_NAMES = {**{c.name.lower(): c for c in FailureClass}, **{c.value.lower(): c for c in FailureClass}}


def parse_class(value: Any, where: str, ok: bool = False) -> FailureClass | None:
    text = str(value).strip()
    if ok and (value is None or text.lower() == "ok"):
        return None
    found = _NAMES.get(text.lower())
    if found is None:
        choices = "A, B, C, D" + (" or ok" if ok else "")
        raise ConfigError(f"{where}: {value!r} is not a failure class; use {choices}")
    return found
