"""The day's URL list of a listing target: walk the listing pages, resumable across attempts.

Reads a target's ``listing``: ``start_url`` (``{date}`` expanded), ``link`` (the selector of
item links), ``next_page`` (the selector of the next listing page), ``max_pages``.

Each listing page that loads is kept at ``raw/<target>/<date>/_listing/<key>.html.gz``
(put-if-absent), so a retried attempt walks the stored pages again without a request and
fetches from the page that failed. When the walk ends, the URL list is written once to
``raw/<target>/<date>/_listing.json`` and later attempts read only that. A walk that stops
at a failed page still returns the links found so far, so their pages are fetched in the
same attempt while the listing page waits for its retry.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass

from fleet_assets.lib import keys
from fleet_assets.lib.extract import extract_links, first_link
from fleet_assets.lib.failures import ListingFailed
from fleet_assets.lib.store.base import ObjectMissing, ObjectStore
from fleet_assets.lib.targets import Target


@dataclass(frozen=True)
class Discovery:
    urls: tuple[str, ...]
    failure: ListingFailed | None = None  # None: the listing is complete

    @property
    def complete(self) -> bool:
        return self.failure is None


def listing_page_key(target: str, date: str, url: str) -> str:
    return f"{keys.partition_prefix(target, date)}_listing/{keys.natural_key(url, date)}.html.gz"


def discover(target: Target, date: str, store: ObjectStore,
             fetch_page: Callable[[str], bytes]) -> Discovery:
    """The day's URLs. ``fetch_page`` returns a good page's body or raises ``ListingFailed``."""
    if target.listing is None:
        return Discovery(tuple(target.urls_for(date)))
    key = keys.listing_key(target.name, date)
    try:
        return Discovery(tuple(json.loads(store.get(key))["urls"]))
    except ObjectMissing:
        pass
    listing = target.listing
    url: str | None = listing.start_url.replace("{date}", date)
    found: dict[str, None] = {}
    seen_pages: set[str] = set()
    while url is not None and len(seen_pages) < listing.max_pages and url not in seen_pages:
        seen_pages.add(url)
        page_key = listing_page_key(target.name, date, url)
        try:
            body = gzip.decompress(store.get(page_key))
        except ObjectMissing:
            try:
                body = fetch_page(url)
            except ListingFailed as exc:
                return Discovery(tuple(found), exc)
            store.put_if_absent(page_key, gzip.compress(body, mtime=0))
        for link in extract_links(body, listing.link, url):
            found.setdefault(link, None)
        url = first_link(body, listing.next_page, url) if listing.next_page else None
    urls = tuple(found)
    doc = json.dumps({"urls": list(urls), "pages": len(seen_pages)}, sort_keys=True).encode()
    store.put_if_absent(key, doc)
    return Discovery(urls)
