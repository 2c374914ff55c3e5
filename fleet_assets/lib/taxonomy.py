"""The taxonomy table: every fetch outcome falls into exactly one class (``failures.py``).

The rule table, applied in this order by ``Taxonomy.classify`` (per-target overrides come
from ``targets.yaml`` ``taxonomy:`` and go through ``Taxonomy.with_overrides``)::

    1. transport error (``ErrorKind``), unless it only spoiled the body of a response
       whose status is itself a failure (a truncated 404 is still a 404):
         A  dns, connect_timeout, read_timeout (also the page's deadline), connection_reset,
            connection_refused, tls_error, truncated_body, decode_error,
            malformed_response (framing not to be trusted, e.g. two Content-Length values)
         B  proxy_error                  (the connection to the proxy was never made: rotate)
         D  invalid_url, redirect_loop, redirect_refused (a Location that is no http(s)
            URL or hides a trick), offsite (a URL, redirect or resolved address outside the
            target's origins), too_large
       (``lib/http/fetcher.py`` documents which exception is which kind.)
    2. 401 with ``credentials_worked_before``   D  access revoked (``credentials_revoked``)
    3. status:
         A  408 500 502 503 504 522 524, and any other 5xx
         B  401 403 407 429, and any status outside 100-599 (e.g. LinkedIn's 999)
         D  404 410 451, any other 4xx, and an unfollowed 1xx/3xx
         ok 2xx
    4. a block marker in the body of an ok or A response           B  CAPTCHA/interstitial
       (a challenge served as 503 is a block, not an outage)
    5. an uncompressed 2xx body shorter than its Content-Length      A  truncated body
    6. otherwise the page is good (``Verdict.failure is None``)

Choices: a 401 without prior success is B, because D tombstones the URL for every later day and
nothing proves access ever existed; B's attempts are capped (a wrong B costs ``max_attempts``).
``too_large`` and the redirect errors are D because the same request gives the same answer;
raise ``max_body_bytes`` or override ``errors`` if not.
Markers (``captcha_markers``, literal; ``captcha_patterns``, regex): ``lib/markers.py``.

Overrides (``Taxonomy.with_overrides``), every key optional: ``status: {"403": A, "200": ok}``
(a status -> A-D | ok), ``errors: {redirect_refused: B}`` (an ErrorKind -> A-D),
``credentials_revoked: D``, ``captcha_markers`` / ``captcha_patterns`` (replace the defaults).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from fleet_assets.lib.failures import (
    OK,
    A,
    B,
    C,
    ConfigError,
    D,
    ErrorKind,
    FailureClass,
    FetchOutcome,
    Verdict,
    parse_class,
    parse_mapping,
)
from fleet_assets.lib.markers import (
    DEFAULT_CAPTCHA_MARKERS,
    DEFAULT_CAPTCHA_PATTERNS,
    MarkerMatcher,
)

# Errors that only spoil the body: the status line, if it names a failure, wins over them.
_BODY_ERRORS = frozenset({ErrorKind.TRUNCATED_BODY, ErrorKind.DECODE_ERROR, ErrorKind.TOO_LARGE})

DEFAULT_STATUSES: Mapping[int, FailureClass] = MappingProxyType({
    **dict.fromkeys((408, 500, 502, 503, 504, 522, 524), A),
    **dict.fromkeys((401, 403, 407, 429), B),
    **dict.fromkeys((404, 410, 451), D),
})
DEFAULT_ERRORS: Mapping[ErrorKind, FailureClass] = MappingProxyType({
    **dict.fromkeys((ErrorKind.DNS, ErrorKind.CONNECT_TIMEOUT, ErrorKind.READ_TIMEOUT,
                     ErrorKind.CONNECTION_RESET, ErrorKind.CONNECTION_REFUSED,
                     ErrorKind.TLS_ERROR, ErrorKind.TRUNCATED_BODY, ErrorKind.DECODE_ERROR,
                     ErrorKind.MALFORMED_RESPONSE), A),
    ErrorKind.PROXY_ERROR: B,
    **dict.fromkeys((ErrorKind.INVALID_URL, ErrorKind.REDIRECT_LOOP,
                     ErrorKind.REDIRECT_REFUSED, ErrorKind.OFFSITE, ErrorKind.TOO_LARGE), D),
})


def _verdict(failure: FailureClass | None, reason: str) -> Verdict:
    return OK if failure is None else Verdict(failure, reason, failure.retryable)


# -- the table -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Taxonomy:
    statuses: Mapping[int, FailureClass | None] = field(default_factory=lambda: DEFAULT_STATUSES)
    errors: Mapping[ErrorKind, FailureClass] = field(default_factory=lambda: DEFAULT_ERRORS)
    credentials_revoked: FailureClass = D
    captcha_markers: tuple[str, ...] = DEFAULT_CAPTCHA_MARKERS
    captcha_patterns: tuple[str, ...] = DEFAULT_CAPTCHA_PATTERNS

    def __post_init__(self) -> None:
        matcher = MarkerMatcher(self.captcha_markers, self.captcha_patterns)
        object.__setattr__(self, "_matcher", matcher)

    def block_marker(self, body: bytes) -> str | None:
        """The first marker (literals, then patterns, in their order) the body carries."""
        return self._matcher.first(body)  # type: ignore[attr-defined]

    def status_class(self, status: int) -> FailureClass | None:
        if status in self.statuses:
            return self.statuses[status]
        if 200 <= status < 300:
            return None
        if 500 <= status < 600:
            return A
        if 100 <= status < 500:
            return D
        return B

    def classify(self, outcome: FetchOutcome) -> Verdict:
        status, error = outcome.status, outcome.error
        by_status = self.status_class(status) if status is not None else None
        if error is not None and (status is None or error not in _BODY_ERRORS
                                  or by_status is None or by_status is C):
            return _verdict(self.errors.get(error, A), f"transport error: {error.value}")
        if status is None:
            return _verdict(A, "no response and no error reported")
        if status == 401 and outcome.credentials_worked_before:
            return _verdict(self.credentials_revoked, "401: credentials that worked are refused")
        if by_status not in (None, A):
            return _verdict(by_status, f"HTTP {status}")
        body = outcome.body or b""
        label = self.block_marker(body)
        if label is not None:
            return _verdict(B, f"HTTP {status} block page (marker {label!r})")
        if by_status is A:
            return _verdict(A, f"HTTP {status}")
        if _short_body(outcome, len(body)):
            return _verdict(A, "body shorter than its Content-Length")
        return OK

    def with_overrides(self, mapping: Mapping[str, Any] | None) -> Taxonomy:
        """A per-target variant; ``ConfigError`` (a ``ValueError``) names the bad entry."""
        spec = dict(mapping or {})
        allowed = ("status", "errors", "credentials_revoked", "captcha_markers",
                   "captcha_patterns")
        unknown = sorted(str(k) for k in spec if k not in allowed)
        if unknown:
            raise ConfigError(f"taxonomy: unknown key(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(allowed)}")
        changes: dict[str, Any] = {}
        if "status" in spec:
            statuses = dict(self.statuses)
            for code, cls in parse_mapping(spec["status"], "taxonomy.status").items():
                statuses[_status_code(code)] = parse_class(cls, f"taxonomy.status.{code}", ok=True)
            changes["statuses"] = MappingProxyType(statuses)
        if "errors" in spec:
            errors = dict(self.errors)
            for kind, cls in parse_mapping(spec["errors"], "taxonomy.errors").items():
                errors[_error_kind(kind)] = parse_class(cls, f"taxonomy.errors.{kind}")
            changes["errors"] = MappingProxyType(errors)
        if "credentials_revoked" in spec:
            changes["credentials_revoked"] = parse_class(spec["credentials_revoked"],
                                                    "taxonomy.credentials_revoked")
        for key in ("captcha_markers", "captcha_patterns"):
            if key in spec:
                changes[key] = _strings(spec[key], f"taxonomy.{key}",
                                        regex=key == "captcha_patterns")
        return replace(self, **changes)


def _short_body(outcome: FetchOutcome, size: int) -> bool:
    declared = outcome.header("content-length")
    encoding = (outcome.header("content-encoding") or "identity").strip().lower()
    return (encoding == "identity" and declared is not None and declared.strip().isdigit()
            and size < int(declared))


def _status_code(code: Any) -> int:
    text = str(code).strip()
    if isinstance(code, bool) or not text.isdigit() or not 100 <= int(text) <= 999:
        raise ConfigError(f"taxonomy.status: {code!r} is not an HTTP status code; "
                          "use a number from 100 to 999, e.g. \"403\"")
    return int(text)


def _error_kind(kind: Any) -> ErrorKind:
    try:
        return ErrorKind(str(kind).strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in ErrorKind)
        raise ConfigError(f"taxonomy.errors: {kind!r} is not an error kind; known: {known}") \
            from None


def _strings(value: Any, where: str, regex: bool) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of non-empty strings")
    for v in value if regex else ():
        try:
            re.compile(v)
        except re.error as exc:
            raise ConfigError(f"{where}: {v!r} is not a valid regex ({exc}); "
                              "use captcha_markers for literal text") from None
    return tuple(value)
