"""A scripted site behind the ``Fetcher`` protocol: pages, redirects and errors from a dict.

The crawler's own logic (links after redirects, listing ends, suspects) is tested against
this local implementation; the real fetcher is tested against real servers elsewhere
(test_fetcher.py, test_realweb.py). Redirects are followed the way the fetcher does: the
outcome carries ``final_url`` and the redirect chain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fleet_assets.lib.failures import ErrorKind, FetchOutcome


@dataclass
class Answer:
    status: int | None = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": "text/html"})
    error: ErrorKind | None = None


class ScriptedSite:
    """``pages[url]`` is an ``Answer`` or a callable ``(n) -> Answer`` (n: the URL's nth request)."""

    def __init__(self, pages: Mapping[str, Answer | Callable[[int], Answer]] | None = None,
                 redirects: Mapping[str, str] | None = None) -> None:
        self.pages = dict(pages or {})
        self.redirects = dict(redirects or {})
        self.requests: list[tuple[str, str | None]] = []  # (url, proxy id)
        self._lock = threading.Lock()

    def fetch(self, url: str, proxy=None, headers=None) -> FetchOutcome:
        proxy_id = proxy.id if proxy is not None else None
        with self._lock:
            self.requests.append((url, proxy_id))
            n = sum(1 for u, _ in self.requests if u == url)
        chain: list[str] = []
        current = url
        while current in self.redirects:
            chain.append(current)
            current = self.redirects[current]
        spec = self.pages.get(current)
        if current.endswith("/robots.txt") and spec is None:
            spec = Answer(404, b"")
        answer = spec(n) if callable(spec) else spec
        if answer is None:
            answer = Answer(404, b"<h1>Not Found</h1>")
        return FetchOutcome(url=url, status=answer.status, headers=dict(answer.headers),
                            body=answer.body, error=answer.error, proxy_id=proxy_id,
                            final_url=current, redirects=tuple(chain))

    def count(self, predicate: Callable[[str], bool]) -> int:
        return sum(1 for u, _ in self.requests if predicate(u))
