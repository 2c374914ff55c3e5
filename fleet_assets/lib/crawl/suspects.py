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

The check runs on every good page, so it reads only as much of the page as it needs: the
start of the body is parsed on its own and a required field found complete there settles
it (``yields_required_early``); anything the start cannot settle is judged on the
whole page by ``extract.yields_required``, as before. Only pages of 32 KB or more, and only
their first 16 KB and then their first third, are read so (see ``_FIRST``).

Reads a target's ``record`` (``required`` and the fields' selectors). ``PartitionCrawler``
(``crawler.py``) acts on these answers; the metadata counts ``outcome_suspect``,
``outcome_suspect_cleared``, ``suspects`` and ``confirmed_C``.
"""

from __future__ import annotations

from typing import Any

from lxml import etree, html

from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool
from fleet_assets.lib.decode import decode_html
from fleet_assets.lib.extract import (
    LINK_ATTRS,
    coerce,
    compile_selector,
    text_of,
    thread_parser,
    yields_required,
)
from fleet_assets.lib.failures import FetchOutcome
from fleet_assets.lib.targets import FieldRule, RecordRules

SUSPECT = "suspect: a good answer without any required field, asked again as another client"
SUSPECT_TWICE = "confirmed C: no required field in two answers to two clients"


def is_suspect(outcome: FetchOutcome, rules: RecordRules) -> bool:
    """A good answer yielding none of the required fields (never when nothing is required)."""
    return bool(rules.required) and not yields_required_early(
        outcome.body or b"", rules, outcome.effective_url, outcome.header("content-type"))


# The start of a page is parsed as a document of its own, first its first ``_FIRST`` bytes,
# then (if that did not settle it) its first ``1/_PREFIX_PART``. Each is a plain parse with
# the thread's parser, which runs without the GIL: the incremental parser used before fired a
# Python event hook per element and, in the crawl's 16 threads, took 2.7 ms a page where one
# thread took 1.1 (Python's docs, whose h1 follows ~10-40 KB of head and navigation).
_FIRST = 16_384
# Below this a page is parsed whole at once (the sandbox's 4.5 KB product pages).
_WHOLE_BELOW = 32_768
# A field past the first third (or none: a suspect) costs at most ~half a parse more than
# the whole-page check alone; one in it saves most of a parse.
_PREFIX_PART = 3


def _settles_early(rule: FieldRule) -> bool:
    """Whether a partial tree can settle the field exactly.

    A CSS selector without pseudo-classes matches on tags, attributes, ancestors and earlier
    siblings only, all fixed when an element is created, so its matches in a partial tree
    are the first of the whole page's (``:last-child``, ``:empty``, XPath's ``last()`` are
    not). URL values depend on a ``<base href>`` that may come later: whole page only.
    """
    sel = rule.selector
    return (sel.css is not None and ":" not in sel.css and rule.type != "url"
            and (sel.attr is None or sel.attr.lower() not in LINK_ATTRS))


def _complete(node: Any) -> bool:
    """Whether an element already follows ``node``'s subtree in the parsed start of a page:
    the start was parsed past the node's end tag (or past its start tag, for attributes), so
    the node's text and attributes are those of the whole page. libxml2 closes the elements
    still open where the start ends without adding any after them."""
    while node is not None:
        if node.getnext() is not None:
            return True
        node = node.getparent()
    return False


def _settled(root: Any, rule: FieldRule) -> bool | None:
    """The field's verdict (found or not) once the partial tree settles it, else None."""
    attr = rule.selector.attr
    for node in compile_selector(rule.selector)(root):
        if not _complete(node):  # cut inside it (its text, or its start tag's attributes)
            return None
        raw = (node.get(attr) or "").strip() if attr is not None else text_of(node)
        if raw:  # the first non-empty match is the field's value (``select_first``)
            return coerce(raw, rule.type) is not None
    return None


def yields_required_early(body: bytes, rules: RecordRules, url: str | None = None,
                          content_type: str | None = None) -> bool:
    """``extract.yields_required``, settled from the start of the page when it can be."""
    required = rules.required_fields
    pending = [f for f in required if _settles_early(f)]
    if pending and len(body) >= _WHOLE_BELOW and not body.isspace():
        text = decode_html(body, content_type)[1].encode("utf-8", "replace")
        for cut in sorted({min(_FIRST, len(text) // _PREFIX_PART), len(text) // _PREFIX_PART}):
            root = _start_of(text, cut)
            if root is None:
                continue
            for rule in list(pending):
                verdict = _settled(root, rule)
                if verdict:
                    return True
                if verdict is False:
                    pending.remove(rule)
            if not pending and len(required) == sum(map(_settles_early, required)):
                return False  # every required field settled as not found
            if not pending:
                break
    return yields_required(body, rules, url, content_type)


def _start_of(text: bytes, cut: int) -> Any:
    """The tree of ``text``'s first ``cut`` bytes (None when they hold no element)."""
    try:
        return html.document_fromstring(text[:cut], parser=thread_parser())
    except (etree.ParserError, etree.LxmlError, ValueError):
        return None


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
