"""Rule-based extraction with lxml: selectors, typed field values, links.

Reads a target's ``record`` rules (fields with ``css``/``xpath``, optional ``attr``, ``type``)
and ``listing`` selectors. Parsing is forgiving (lxml's HTML parser recovers malformed markup)
but never reaches the network and never expands entities into huge trees.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree, html

from fleet_assets.lib.selectors import compile_expression
from fleet_assets.lib.targets import FieldRule, RecordRules, Selector

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?|[-+]?\.\d+")
_TRUE = {"true", "yes", "1", "in stock", "available", "remote", "y"}
_FALSE = {"false", "no", "0", "out of stock", "sold out", "unavailable", "onsite", "on-site", "n"}


@dataclass(frozen=True)
class Extraction:
    values: dict[str, Any]
    missing_required: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing_required

    @property
    def found(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.values.items() if v is not None)


def compile_selector(sel: Selector) -> etree.XPath:
    return compile_expression(sel.css, sel.xpath)


@lru_cache(maxsize=32)
def _parser(encoding: str) -> html.HTMLParser:
    return html.HTMLParser(encoding=encoding, no_network=True, huge_tree=False,
                           remove_comments=True, remove_pis=True)


def sniff_encoding(body: bytes) -> str:
    """The document's charset: BOM, then <meta charset>, then utf-8, cp1252, latin-1."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    m = _META_CHARSET.search(body[:4096])
    if m:
        try:
            name = codecs.lookup(m.group(1).decode("ascii")).name
        except (LookupError, UnicodeDecodeError):
            name = None
        # A declared charset is a claim: keep it only if the bytes agree.
        if name and _decodes(body, name):
            return name
    for fallback in ("utf-8", "cp1252"):
        if _decodes(body, fallback):
            return fallback
    return "latin-1"


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def parse_html(body: bytes, url: str | None = None) -> Any:
    """Parse bytes into an lxml document; None for an empty or unparseable body."""
    if not body or not body.strip():
        return None
    try:
        return html.document_fromstring(body, parser=_parser(sniff_encoding(body)), base_url=url)
    except (etree.ParserError, ValueError, LookupError):
        return None


def _text(node: Any) -> str:
    if isinstance(node, str):
        return " ".join(node.split())
    if isinstance(node, (int, float)):
        return str(node)
    return " ".join(node.text_content().split())


def select_first(doc: Any, sel: Selector) -> str | None:
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
                    return value.strip()
            continue
        text = _text(node)
        if text:
            return text
    return None


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
    if ftype == "date":
        m = re.search(r"\d{4}-\d{2}-\d{2}", raw)
        if not m:
            return None
        try:
            return dt.date.fromisoformat(m.group(0)).isoformat()
        except ValueError:
            return None
    raise ValueError(f"unknown field type {ftype!r}")


def extract_field(doc: Any, rule: FieldRule) -> Any:
    return coerce(select_first(doc, rule.selector), rule.type)


def extract_record(body: bytes, rules: RecordRules, url: str | None = None) -> Extraction:
    doc = parse_html(body, url)
    if doc is None:
        return Extraction(values={f.name: None for f in rules.fields},
                          missing_required=rules.required)
    values = {f.name: extract_field(doc, f) for f in rules.fields}
    missing = tuple(r for r in rules.required if values.get(r) is None)
    return Extraction(values=values, missing_required=missing)


def extract_links(body: bytes, sel: Selector, base_url: str, limit: int = 100_000,
                  hosts: Iterable[str] | None = None) -> list[str]:
    """Absolute http(s) links matched by ``sel``, in document order, deduplicated.

    Only links to ``hosts`` (default: the listing page's own host) are kept: a listing is
    untrusted input, and a link to another host (``http://169.254.169.254/``, an intranet
    name) must not steer the crawler there, as a cross-host redirect may not either.
    """
    allowed = {h.lower() for h in hosts} if hosts is not None else {urlsplit(base_url).hostname}
    doc = parse_html(body, base_url)
    if doc is None:
        return []
    try:
        nodes = compile_selector(sel)(doc)
    except etree.XPathEvalError:
        return []
    out: dict[str, None] = {}
    for node in nodes if isinstance(nodes, list) else [nodes]:
        if sel.attr is not None:
            raw = node.get(sel.attr) if hasattr(node, "get") else None
        elif isinstance(node, str):
            raw = node
        else:
            raw = node.get("href") if hasattr(node, "get") else None
        url = absolute_url(raw, base_url)
        if url is not None and urlsplit(url).hostname in allowed:
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
        url = urljoin(base_url, raw)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts._replace(fragment="").geturl()


def first_link(body: bytes, sel: Selector, base_url: str) -> str | None:
    links = extract_links(body, sel, base_url, limit=1)
    return links[0] if links else None


def field_names(rules: RecordRules) -> Iterable[str]:
    return rules.field_names
