"""robots.txt as a policy object (RFC 9309), and the fleet's user agent.

Reads a target's ``politeness.obey_robots`` (the caller skips this module when false) and
``politeness.max_crawl_delay_seconds``: a ``Crawl-delay`` up to it becomes the host's
minimum request interval; a longer one (``CrawlDelays.claim``) lets one page through per
delay and reports when the next may go, so the crawler defers pages with a ``due_at``
instead of sleeping inside a step. robots.txt is fetched by the crawler through the same
route as the pages (the proxy pool, the host's rate limit).

Matching follows RFC 9309 rather than ``urllib.robotparser``, which applies the first
matching rule in file order and knows no wildcards: here the longest matching pattern wins,
``allow`` wins a tie, ``*`` matches any run of characters and a trailing ``$`` anchors the
end. Matching is linear in the path for each rule (no regular expressions, so no
backtracking: a 45-byte rule of many ``*`` against a 60-character path is microseconds, where
a regex took minutes). The groups naming our product token (``fleet-assets``, case-insensitive) are merged;
without one, the ``*`` groups apply; with neither, everything is allowed. ``/robots.txt``
itself is always allowed. Only the first 500 KiB are parsed (the RFC's minimum).

How the robots.txt response maps to a policy (``RobotsPolicy.from_response``)::

    2xx with a body       parse it
    3xx (a redirect the fetcher would not follow), 4xx
                          allow all: the file is "unavailable" (RFC 9309 2.3.1.3)
    5xx, no response, or a 2xx without a body
                          disallow all for now: "unreachable" (2.3.1.4); ``unreachable``
                          is True so the caller can keep the pages pending (class A)
                          instead of recording them as disallowed
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

FLEET_USER_AGENT = "fleet-assets/0.1 (+https://example.invalid/fleet)"
MAX_ROBOTS_BYTES = 500 * 1024

_LINE = re.compile(r"^\s*([A-Za-z-]+)\s*:\s*(.*?)\s*$")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")


def product_token(user_agent: str) -> str:
    """``fleet-assets/0.1 (+...)`` -> ``fleet-assets`` (what robots.txt groups name)."""
    return re.split(r"[/\s]", user_agent.strip(), maxsplit=1)[0].lower()


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _unescape_unreserved(m: re.Match[str]) -> str:
    char = chr(int(m.group(0)[1:], 16))
    return char if char in _UNRESERVED else m.group(0).upper()


def _normalise(path: str) -> str:
    """One spelling for a rule and a path (RFC 9309 2.2.2): ``%61`` is ``a``, ``%2f`` is
    ``%2F`` (reserved characters stay encoded), and non-ASCII (``Disallow: /café``, written
    raw by many sites) is its percent-encoded UTF-8, as it is in a request path."""
    path = _PERCENT.sub(_unescape_unreserved, path)
    if path.isascii():
        return path
    return "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in path)


@dataclass(frozen=True)
class Rule:
    allow: bool
    pattern: str

    def matches(self, path: str) -> bool:
        return wildcard_match(_normalise(self.pattern), path)


def wildcard_match(pattern: str, path: str) -> bool:
    """RFC 9309 matching of ``pattern`` (``*`` any run, trailing ``$`` the end) at the start of ``path``.

    Each ``*``-separated literal is found at its leftmost place after the previous one, which is
    optimal for patterns whose only wildcard is ``*``: no choice is ever revisited.
    """
    anchored = pattern.endswith("$")
    parts = (pattern[:-1] if anchored else pattern).split("*")
    if len(parts) == 1:
        return path == parts[0] if anchored else path.startswith(parts[0])
    first, *middle, last = parts
    if not path.startswith(first):
        return False
    pos = len(first)
    for literal in middle:
        found = path.find(literal, pos)
        if found < 0:
            return False
        pos = found + len(literal)
    if anchored:
        return len(path) - len(last) >= pos and path.endswith(last)
    return path.find(last, pos) >= 0


class CrawlDelays:
    """``Crawl-delay`` within one attempt: an interval up to ``cap``, a deferral beyond it."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def interval(self, delay: float | None) -> float | None:
        """The per-host minimum interval to apply (a longer delay is capped here)."""
        return min(delay, self.cap) if delay else None

    def claim(self, host: str, delay: float | None, now: float) -> float | None:
        """None: fetch now. Otherwise the epoch at which the next page of ``host`` may go."""
        if not delay or delay <= self.cap:
            return None
        with self._lock:
            due = self._next.get(host)
            if due is not None and now < due:
                return due
            self._next[host] = now + delay
        return None


@dataclass(frozen=True)
class RobotsPolicy:
    rules: tuple[Rule, ...] = ()
    crawl_delay: float | None = None
    unreachable: bool = False

    @classmethod
    def allow_all(cls) -> RobotsPolicy:
        return cls()

    @classmethod
    def disallow_all(cls, unreachable: bool = True) -> RobotsPolicy:
        return cls(rules=(Rule(allow=False, pattern="/"),), unreachable=unreachable)

    @classmethod
    def from_response(cls, status: int | None, body: bytes | None,
                      user_agent: str = FLEET_USER_AGENT) -> RobotsPolicy:
        if status is None or status >= 500 or (200 <= status < 300 and body is None):
            return cls.disallow_all(unreachable=True)
        if 200 <= status < 300:
            text = (body or b"")[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
            return cls.parse(text, user_agent)
        return cls.allow_all()

    @classmethod
    def parse(cls, text: str, user_agent: str = FLEET_USER_AGENT) -> RobotsPolicy:
        token = product_token(user_agent)
        groups: list[tuple[list[str], list[Rule], list[float]]] = []
        in_agents = False
        for raw in text.lstrip("\ufeff").splitlines():
            m = _LINE.match(raw.split("#", 1)[0])
            if not m:
                continue
            key, value = m.group(1).lower(), m.group(2)
            if key == "user-agent":
                if not in_agents:
                    groups.append(([], [], []))
                    in_agents = True
                groups[-1][0].append(value.lower())
                continue
            in_agents = False
            if not groups:
                continue  # rules before any user-agent line belong to no group
            if key in ("allow", "disallow") and value:
                groups[-1][1].append(Rule(allow=key == "allow", pattern=value))
            elif key == "crawl-delay":
                try:
                    delay = float(value)
                except ValueError:
                    continue
                if delay >= 0:
                    groups[-1][2].append(delay)
        mine = [g for g in groups if any(a != "*" and a == token for a in g[0])]
        chosen = mine or [g for g in groups if "*" in g[0]]
        rules = tuple(r for g in chosen for r in g[1])
        delays = [d for g in chosen for d in g[2]]
        return cls(rules=rules, crawl_delay=max(delays) if delays else None)

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        path = parts.path or "/"
        if path == "/robots.txt":
            return True
        if parts.query:
            path = f"{path}?{parts.query}"
        path = _normalise(path)
        best: Rule | None = None
        best_len = -1
        for rule in self.rules:
            length = len(rule.pattern)
            if rule.matches(path) and (length > best_len or (length == best_len and rule.allow)):
                best, best_len = rule, length
        return best is None or best.allow
