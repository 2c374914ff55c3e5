"""Suspects: C is confirmed before it counts.

A good answer (2xx, no block marker of ``failures.py``) that yields *none* of the target's
required fields may be a wall nobody listed (an interstitial in a style no marker knows) as
well as a changed layout. It is a *suspect* and is asked once more as another client:

- another proxy at once, when the pool has one that is not burned;
- otherwise the same client after a class-B wait: the page stays ``pending`` B with
  ``suspect`` set in its manifest entry, and the next attempt asks again.

If the second answer yields the fields, the first was B (its proxy is burned like any B)
and is never stored. Only the same answer twice is stored, as C (``failure_class: C``), and
only such pages reach the drift checks and the circuit. A listing page that loads without
a single link gets the same treatment (``listing.py``). Pages that miss only *some* required
fields are not suspects: they are stored and judged downstream as before.

Reads a target's ``record`` (``required`` and the fields' selectors). ``PartitionCrawler``
(``crawler.py``) acts on these answers; the metadata counts ``outcome_suspect``,
``outcome_suspect_cleared``, ``suspects`` and ``confirmed_C``.
"""

from __future__ import annotations

from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool
from fleet_assets.lib.extract import yields_required
from fleet_assets.lib.failures import FetchOutcome
from fleet_assets.lib.targets import RecordRules

SUSPECT = "suspect: a good answer without any required field, asked again as another client"
SUSPECT_TWICE = "confirmed C: no required field in two answers to two clients"


def is_suspect(outcome: FetchOutcome, rules: RecordRules) -> bool:
    """A good answer yielding none of the required fields (never when nothing is required)."""
    return bool(rules.required) and not yields_required(
        outcome.body or b"", rules, outcome.effective_url, outcome.header("content-type"))


def other_proxy(pool: ProxyPool | None, target: str, avoid: str | None) -> Proxy | None:
    """A usable proxy other than ``avoid``; None when there is no other client right now."""
    if pool is None or not pool.size:
        return None
    proxy = pool.pick(target, avoid={avoid} if avoid else None)
    return None if proxy is None or proxy.id == avoid else proxy


def proxy_by_id(pool: ProxyPool | None, proxy_id: str | None) -> Proxy | None:
    if pool is None or proxy_id is None:
        return None
    return next((p for p in pool.proxies if p.id == proxy_id), None)
