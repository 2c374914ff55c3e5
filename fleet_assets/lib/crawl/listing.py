"""The day's URL list of a target: walk the listing pages, resumable across attempts.

Reads a target's ``urls`` (``{date}`` expanded) or its ``listing``: ``start_url``
(``{date}`` expanded), ``link`` (the selector of item links), ``next_page`` (the selector
of the next listing page), ``max_pages``.

URLs are collapsed at discovery: two entries that are the same URL after ``{date}``
expansion (or links that differ only by a fragment) are one page, fetched and stored once.

Links are kept only on the target's origins (``origins.py``: its start URL's scheme, host
and port plus ``allowed_origins``); the others are counted (``Discovery.offsite``), never
fetched. Links and the next page resolve against the URL the listing page came *from* (after
redirects: a start URL ``/library`` answered by a 301 to ``/library/``) and its
``<base href>``. Each listing page that loads is kept at
``raw/<target>/<date>/_listing/<key>.html.gz`` (put-if-absent) with its final URL and
Content-Type beside it (``<key>.meta.json``), so a retried attempt walks the stored pages
again without a request, resolving links exactly as the first walk did, and fetches from the
page that failed. When the walk ends, the URL list is written once to
``raw/<target>/<date>/_listing.json`` and later attempts read only that.

How a walk ends (``Discovery``):

- complete: no next page, ``max_pages`` reached, or a page seen before (a loop);
- a listing page failing with a retryable class (A, B) stops the walk; the links found so
  far are returned and fetched in the same attempt, and the walk resumes there next time;
- a listing page that loads without a single link may be a wall nobody listed: it is asked
  once more as another client (``refetch``: another proxy now, or the next attempt after a
  class-B wait, remembered by a ``<key>.suspect`` marker). Without links twice it is C
  (a page whose every link is offsite too: the reason counts them and names the fix);
- a listing page answering a class-D status (404, 410, ...) or C ends the walk for good.
  After the start page it is the end of the listing (pagination past the last page is
  common): the links found are kept and the listing is complete. On the start page nothing
  was found: ``Discovery.dead`` names the URL and the reason, and the ``raw_pages`` step
  fails without retrying (a manifest is still written).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from fleet_assets.lib import keys
from fleet_assets.lib.extract import Page, absolute_url, links_from, parse_page
from fleet_assets.lib.failures import FailureClass, ListingFailed
from fleet_assets.lib.http.origins import OriginPolicy, link_allowed, target_policy
from fleet_assets.lib.store.base import CorruptObject, ObjectMissing, ObjectStore
from fleet_assets.lib.store.integrity import pack_page, read_page
from fleet_assets.lib.targets import Selector, Target


@dataclass(frozen=True)
class ListingPage:
    """A listing page that loaded: its body, the URL it came from, its Content-Type."""

    body: bytes
    final_url: str
    content_type: str | None = None
    proxy_id: str | None = None  # the client that got it (a suspect is asked as another)


@dataclass(frozen=True)
class Discovery:
    urls: tuple[str, ...]
    failure: ListingFailed | None = None  # retryable: the walk resumes at failure.url
    dead: ListingFailed | None = None  # C or D on the start page: nothing to crawl
    offsite: int = 0  # links to other origins seen on the walked pages: dropped, counted

    @property
    def complete(self) -> bool:
        return self.failure is None


def listing_page_key(target: str, date: str, url: str) -> str:
    return f"{keys.partition_prefix(target, date)}_listing/{keys.natural_key(url, date)}.html.gz"


def unique(urls: list[str]) -> tuple[str, ...]:
    """The URLs in first-seen order, each once (fragments dropped: they name no new page)."""
    out: dict[str, None] = {}
    for url in urls:
        out.setdefault(absolute_url(url, "") or url, None)
    return tuple(out)


def discover(target: Target, date: str, store: ObjectStore,
             fetch_page: Callable[[str], ListingPage],
             refetch: Callable[[str, ListingPage], ListingPage] | None = None) -> Discovery:
    """The day's URLs. ``fetch_page`` returns a page that loaded or raises ``ListingFailed``;
    ``refetch`` asks for a link-less page again as another client (or raises ``ListingFailed``
    B with the wait when there is none now)."""
    if target.listing is None:
        return Discovery(unique(target.urls_for(date)))
    key = keys.listing_key(target.name, date)
    try:
        doc = json.loads(store.get(key))
        return Discovery(unique(doc["urls"]), offsite=doc.get("offsite", 0))
    except ObjectMissing:
        pass
    listing = target.listing
    walk = _Walk(target_policy(target))
    url: str | None = listing.start_url.replace("{date}", date)
    found: dict[str, None] = {}
    seen_pages: set[str] = set()
    while url is not None and len(seen_pages) < listing.max_pages and url not in seen_pages:
        seen_pages.add(url)
        try:
            page, fresh = _load(target.name, date, store, url, fetch_page)
            parsed = _parse(page)
            before = walk.offsite
            links = walk.links(parsed, listing.link)
            if not links and fresh:
                page, parsed = _suspect(target.name, date, store, url, page, parsed, refetch)
                walk.offsite = before  # the answer kept counts, not both
                links = walk.links(parsed, listing.link)
        except ListingFailed as exc:
            if exc.failure_class.retryable:
                return Discovery(tuple(found), exc, offsite=walk.offsite)
            if len(seen_pages) == 1:
                return Discovery((), dead=exc, offsite=walk.offsite)
            break  # past the last page: the listing ends here
        if not links:  # asked twice, no links twice
            if len(seen_pages) == 1:
                offsite = (f"; {walk.offsite} link(s) pointed to other origins: add them to "
                           "the target's allowed_origins" if walk.offsite else "")
                return Discovery((), dead=ListingFailed(
                    url, FailureClass.SEMANTIC,
                    f"the page loaded but the link selector {listing.link.expression!r} "
                    f"matched nothing on the target's origins, twice (a changed layout?)"
                    f"{offsite}", 0.0), offsite=walk.offsite)
            break
        if fresh:
            _keep(target.name, date, store, url, page)
        for link in links:
            found.setdefault(link, None)
        nxt = walk.links(parsed, listing.next_page, count=False) if listing.next_page else []
        url = nxt[0] if nxt else None  # type: ignore[union-attr]
    urls = tuple(found)
    doc = json.dumps({"urls": list(urls), "pages": len(seen_pages), "offsite": walk.offsite},
                     sort_keys=True).encode()
    store.put_if_absent(key, doc)
    return Discovery(urls, offsite=walk.offsite)


def _parse(page: ListingPage) -> Page | None:
    return parse_page(page.body, page.final_url, page.content_type)


class _Walk:
    """The links of one walk on the target's origins, and how many pointed elsewhere."""

    def __init__(self, policy: OriginPolicy) -> None:
        self.policy, self.offsite = policy, 0

    def links(self, parsed: Page | None, sel: Selector, count: bool = True) -> list[str]:
        # Every host first (an allowed origin may be another host), then the one origin check.
        found = [] if parsed is None else links_from(parsed, sel, any_host=True)
        kept = [u for u in found if link_allowed(u, self.policy)]
        if count:
            self.offsite += len(found) - len(kept)
        return kept


def _suspect(target: str, date: str, store: ObjectStore, url: str, page: ListingPage,
             parsed: Page | None, refetch: Callable[[str, ListingPage], ListingPage] | None
             ) -> tuple[ListingPage, Page | None]:
    """A listing page without links may be a wall: ask again once (a marker remembers it)."""
    marker = listing_page_key(target, date, url).replace(".html.gz", ".suspect")
    if refetch is None or store.exists(marker):
        return page, parsed  # the previous attempt asked already: the same answer twice
    store.put(marker, b"")
    again = refetch(url, page)
    return again, _parse(again)


def _keep(target: str, date: str, store: ObjectStore, url: str, page: ListingPage) -> None:
    """Store a listing page that gave links, its final URL and Content-Type first."""
    page_key = listing_page_key(target, date, url)
    store.put(page_key.replace(".html.gz", ".meta.json"),
              json.dumps({"final_url": page.final_url, "content_type": page.content_type},
                         sort_keys=True).encode())
    store.put_if_absent(page_key, pack_page(page.body))


def _load(target: str, date: str, store: ObjectStore, url: str,
          fetch_page: Callable[[str], ListingPage]) -> tuple[ListingPage, bool]:
    """The stored copy of a listing page, else a fetch; True when fetched now (not stored)."""
    page_key = listing_page_key(target, date, url)
    meta_key = page_key.replace(".html.gz", ".meta.json")
    try:
        body = read_page(store, page_key)
    except (ObjectMissing, CorruptObject):  # a corrupt copy is quarantined: fetch again
        return fetch_page(url), True
    try:
        meta = json.loads(store.get(meta_key))
    except (ObjectMissing, ValueError):
        meta = {}  # stored before final URLs were kept: no redirect then
    return ListingPage(body, meta.get("final_url") or url, meta.get("content_type")), False
