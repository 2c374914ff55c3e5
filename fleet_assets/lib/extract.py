"""Rule-based extraction with lxml: selectors, typed field values, links.

Reads a target's ``record`` rules (fields with ``css``/``xpath``, optional ``attr``, ``type``)
and ``listing`` selectors. Parsing is forgiving (lxml's HTML parser recovers malformed markup)
but never reaches the network and never expands entities into huge trees.

Decoding follows a browser (``decode.py``); the encoding used is reported
(``Extraction.encoding``) so each page says how it was read.

URLs: links, next pages, ``type: url`` fields and link attributes (``href``, ``src``, ...)
resolve against the page's own URL, which is the URL *after redirects* the caller passes
(``FetchOutcome.effective_url``), and against ``<base href>`` when the page has one.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from cssselect import SelectorError
from lxml import etree, html
from lxml.cssselect import CSSSelector

from fleet_assets.lib.decode import decode_html
from fleet_assets.lib.http.origins import browser_url
from fleet_assets.lib.targets import FieldRule, RecordRules, Selector

_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?|[-+]?\.\d+")
_TRUE = {"true", "yes", "1", "in stock", "available", "remote", "y"}
_FALSE = {"false", "no", "0", "out of stock", "sold out", "unavailable", "onsite", "on-site", "n"}
# Attributes whose value is a URL: an ``attr`` field reading one yields an absolute URL.
LINK_ATTRS = frozenset({"href", "src", "action", "poster", "cite", "data-src", "data-href"})


@dataclass(frozen=True)
class Extraction:
    values: dict[str, Any]
    missing_required: tuple[str, ...]
    encoding: str | None = None  # how the body was decoded; None for an empty body

    @property
    def complete(self) -> bool:
        return not self.missing_required

    @property
    def found(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.values.items() if v is not None)


@dataclass(frozen=True)
class Page:
    """A parsed page: the lxml root, the base URL links resolve against, the encoding used."""

    root: Any
    base_url: str | None
    encoding: str


def _build(css: str | None, xpath: str | None) -> etree.XPath:
    if css is not None:
        try:
            return CSSSelector(css)
        except SelectorError as exc:
            raise ValueError(f"invalid CSS selector {css!r}: {exc}; check the syntax") from None
    try:
        return etree.XPath(str(xpath))
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"invalid XPath {xpath!r}: {exc}; check the syntax") from None


# Compiled selectors are kept per thread, as parsers are: an lxml XPath object evaluates
# without the GIL but under its own lock, so one shared by the crawl's threads made them wait
# for each other (the suspect check on 300 doc pages in 16 threads: 1.96 ms a page with
# shared selectors, 1.59 with per-thread ones, 1.0 once the start of a page was parsed with
# the thread's parser as well; 0.66-0.81 ms in one thread).
_selectors = threading.local()


def _compile(css: str | None, xpath: str | None) -> etree.XPath:
    cache = getattr(_selectors, "cache", None)
    if cache is None:
        cache = _selectors.cache = {}
    compiled = cache.get((css, xpath))
    if compiled is None:
        if len(cache) >= 512:
            cache.clear()
        compiled = cache[(css, xpath)] = _build(css, xpath)
    return compiled


def compile_selector(sel: Selector) -> etree.XPath:
    return _compile(sel.css, sel.xpath)


def text_of(node: Any) -> str:
    """An element's text with whitespace collapsed (lxml.html's ``text_content`` evaluates
    one XPath object shared by every thread, under its lock; this one is the thread's)."""
    return " ".join(_compile(None, "string()")(node).split())


# lxml is given UTF-8 with the encoding forced: the text is already decoded, and a <meta>
# naming another charset must not make lxml decode it a second time.
PARSER_OPTIONS = {"encoding": "utf-8", "no_network": True, "huge_tree": False,
                  "remove_comments": True, "remove_pis": True}
# One parser per thread: lxml parses without the GIL, but a parser object shared by threads
# takes a lock for each parse, so a shared one parsed on one core at a time (300 Python doc
# pages: 0.43 s in 1 thread, 0.48 s in 2 with one parser, 0.24 s with one parser each).
_parsers = threading.local()


def thread_parser() -> html.HTMLParser:
    """This thread's parser (``PARSER_OPTIONS``)."""
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = html.HTMLParser(**PARSER_OPTIONS)
    return parser


def parse_page(body: bytes, url: str | None = None, content_type: str | None = None
               ) -> Page | None:
    """Decode and parse ``body``; None for an empty or unparseable body."""
    if not body or body.isspace():  # isspace: no copy of the body, unlike strip
        return None
    encoding, text = decode_html(body, content_type)
    try:
        root = html.document_fromstring(text.encode("utf-8", "replace"), parser=thread_parser(),
                                        base_url=url)
    except (etree.ParserError, ValueError, LookupError):
        return None
    return Page(root=root, base_url=_base(root, url), encoding=encoding)


def _base(root: Any, url: str | None) -> str | None:
    """``<base href>`` resolved against the page URL (the first one counts, as in browsers)."""
    # ``iter`` stops at the first <base href> and compiles nothing (``xpath("//base/@href")``
    # compiled its expression per page and walked the whole tree: 0.33 ms of a 100 KB page).
    href = next((e.get("href") for e in root.iter("base") if e.get("href") is not None), None)
    if href is not None:
        try:
            return urljoin(url or "", str(href).strip()) or url
        except ValueError:
            return url
    return url


def _text(node: Any) -> str:
    if isinstance(node, str):
        return " ".join(node.split())
    if isinstance(node, (int, float)):
        return str(node)
    return text_of(node)


def select_first(doc: Any, sel: Selector, base_url: str | None = None) -> str | None:
    """The first non-empty match; a link attribute (``LINK_ATTRS``) as an absolute URL."""
    try:
        result = compile_selector(sel)(doc)
    except etree.XPathEvalError:
        return None
    if not isinstance(result, list):
        result = [result]
    for node in result:
        if sel.attr is not None:
            if hasattr(node, "get"):
                value = node.get(sel.attr)
                if value is not None and value.strip():
                    if sel.attr.lower() in LINK_ATTRS and base_url:
                        return _join(base_url, value.strip())
                    return value.strip()
            continue
        text = _text(node)
        if text:
            return text
    return None


# A root-relative path ``urljoin`` would return unchanged after the base's origin: no empty,
# "." or ".." segment (urljoin collapses or resolves those), no params, query, fragment,
# backslash, whitespace or control character (urlsplit treats each specially).
_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9\-._~!$&'()*+,=:@%]+)+/?")


@functools.lru_cache(maxsize=1024)
def _origin(base_url: str) -> str | None:
    """``scheme://netloc`` of an http(s) base URL, else None (one base per page)."""
    parts = urlsplit(base_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _join(base_url: str, raw: str) -> str:
    """``urljoin(base_url, raw)``; a plain root-relative path (``/img/a.png``, the common
    case) is appended to the base's origin without parsing both URLs (~14% of the records
    step's CPU on the sandbox's pages; a test checks both agree on generated URLs)."""
    if raw[:1] == "/" and _PLAIN_PATH.fullmatch(raw) and not any(
            seg in (".", "..") for seg in raw.split("/")):
        origin = _origin(base_url)
        if origin is not None:
            return origin + raw
    try:
        return urljoin(base_url, raw)
    except ValueError:  # a malformed URL (``http://[bad``) stays as the page wrote it
        return raw


def coerce(raw: str | None, ftype: str) -> Any:
    """Convert extracted text to the field type; None when it cannot be read as one."""
    if raw is None:
        return None
    if ftype == "str":
        return raw
    if ftype in ("int", "float"):
        m = _NUMBER.search(raw.replace("\u00a0", " "))
        if not m:
            return None
        num = float(m.group(0).replace(",", ""))
        return int(num) if ftype == "int" else num
    if ftype == "bool":
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        return None
    if ftype == "url":
        return absolute_url(raw, "")
    if ftype == "date":
        m = re.search(r"\d{4}-\d{2}-\d{2}", raw)
        if not m:
            return None
        try:
            return dt.date.fromisoformat(m.group(0)).isoformat()
        except ValueError:
            return None
    raise ValueError(f"unknown field type {ftype!r}")


def extract_field(page: Page, rule: FieldRule) -> Any:
    raw = select_first(page.root, rule.selector, page.base_url)
    if rule.type == "url" and raw is not None and page.base_url:
        return absolute_url(raw, page.base_url)
    return coerce(raw, rule.type)


def extract_record(body: bytes, rules: RecordRules, url: str | None = None,
                   content_type: str | None = None) -> Extraction:
    """Typed field values of one page; ``url`` is the page's URL after redirects."""
    page = parse_page(body, url, content_type)
    if page is None:
        return Extraction(values={f.name: None for f in rules.fields},
                          missing_required=rules.required)
    return extract_from(page, rules)


def extract_from(page: Page, rules: RecordRules) -> Extraction:
    values = {f.name: extract_field(page, f) for f in rules.fields}
    missing = tuple(r for r in rules.required if values.get(r) is None)
    return Extraction(values=values, missing_required=missing, encoding=page.encoding)


def yields_required(body: bytes, rules: RecordRules, url: str | None = None,
                    content_type: str | None = None) -> bool:
    """Whether the page yields at least one required field (stops at the first found)."""
    page = parse_page(body, url, content_type)
    if page is None:
        return False
    return any(extract_field(page, rule) is not None for rule in rules.required_fields)


def extract_links(body: bytes, sel: Selector, base_url: str, limit: int = 100_000,
                  hosts: Iterable[str] | None = None, content_type: str | None = None
                  ) -> list[str]:
    """Absolute http(s) links matched by ``sel``, in document order, deduplicated.

    ``base_url`` is the URL the body came from (after redirects). Only links to ``hosts``
    (default: that page's own host) are kept: a listing is untrusted input, and a link to
    another host (``http://169.254.169.254/``, an intranet name) must not steer the crawler
    there, as a cross-host redirect may not either.
    """
    page = parse_page(body, base_url, content_type)
    return [] if page is None else links_from(page, sel, limit, hosts)


def links_from(page: Page, sel: Selector, limit: int = 100_000,
               hosts: Iterable[str] | None = None, any_host: bool = False) -> list[str]:
    """``extract_links`` on a parsed page; ``any_host`` keeps every http(s) link, for a caller
    that checks each one against the target's origins itself (the listing walk)."""
    base = page.base_url or ""
    page_host = urlsplit(page.root.getroottree().docinfo.URL or base).hostname
    allowed = {h.lower() for h in hosts} if hosts is not None else {page_host}
    try:
        nodes = compile_selector(sel)(page.root)
    except etree.XPathEvalError:
        return []
    out: dict[str, None] = {}
    # A table of contents links each page many times, once per section (#fragment): each
    # href is resolved once without its fragment (which the URL drops anyway).
    resolved: dict[str | None, str | None] = {}
    for node in nodes if isinstance(nodes, list) else [nodes]:
        if sel.attr is not None:
            raw = node.get(sel.attr) if hasattr(node, "get") else None
        elif isinstance(node, str):
            raw = node
        else:
            raw = node.get("href") if hasattr(node, "get") else None
        raw = raw.partition("#")[0] if raw else raw
        if raw in resolved:
            url = resolved[raw]
        else:
            url = absolute_url(raw, base)
            if url is not None and not (any_host or urlsplit(url).hostname in allowed):
                url = None
            resolved[raw] = url
        if url is not None:
            out.setdefault(url, None)
        if len(out) >= limit:
            break
    return list(out)


def absolute_url(raw: str | None, base_url: str) -> str | None:
    if raw is None:
        return None
    raw = raw.strip()
    if not raw or raw.startswith(("#", "javascript:", "mailto:", "data:")):
        return None
    try:
        url = urljoin(base_url, browser_url(raw))  # "red lamp" is sent as red%20lamp
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts._replace(fragment="").geturl()

