"""Decode an HTML body as a browser does.

Decoding follows a browser (WHATWG order, as Scrapy does through w3lib's
``html_to_unicode``): a byte-order mark, then the HTTP ``Content-Type`` charset, then
``<meta charset>`` / ``http-equiv``, then detection (strict UTF-8, else cp1252). The
encoding used is reported (``Extraction.encoding``) so each page says how it was read.
Two WHATWG rules w3lib does not apply are added here: the label ``utf-16`` (no BOM) means
UTF-16LE, not big-endian; and a ``<meta>`` naming UTF-16 means UTF-8 (a <meta> that could
be read as ASCII cannot be in UTF-16).

Reads no settings.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    to_unicode,
)


def _detect(body: bytes) -> str:
    """Last resort when nothing declares a charset: strict UTF-8, else cp1252 (never fails)."""
    if body.isascii():  # valid UTF-8, found without decoding
        return "utf-8"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _declared(body: bytes, content_type: str | None) -> tuple[str, int]:
    """The encoding to decode with and the bytes to skip (a BOM), in WHATWG order: BOM,
    then the HTTP charset, then <meta>, then ``_detect``.

    w3lib's ``html_to_unicode`` applies the same order; it is not called because the two
    UTF-16 rules must see the <meta> label before it does, and it would scan the <meta> a
    second time (a regex over the head of every page)."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        return bom_encoding, len(bom)
    header = http_content_type_encoding(content_type)
    if header is not None:
        # WHATWG's "utf-16" label is UTF-16LE; w3lib resolves it to big-endian.
        return ("utf-16-le" if header == "utf-16" else _sized(header)), 0
    meta = html_body_declared_encoding(body)
    if meta is not None:
        return ("utf-8" if codecs.lookup(meta).name.startswith("utf-16") else _sized(meta)), 0
    return _detect(body), 0


def _sized(encoding: str) -> str:
    """w3lib's reading of a label without a byte order: big-endian."""
    return encoding + "-be" if encoding in {"utf-16", "utf-32"} else encoding


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """``(encoding, text)``: BOM, then the HTTP charset, then <meta>, then detection."""
    encoding, skip = _declared(body, content_type)
    text = to_unicode(body[skip:] if skip else body, encoding)
    # A body that decoded without a replacement character cannot be the lie: not checked.
    if "\ufffd" in text and _not_utf8(body, encoding, skip):
        return "cp1252", body.decode("cp1252", "replace")
    return encoding, text


def _not_utf8(body: bytes, encoding: str, skip: int) -> bool:
    """The one lie servers commonly tell: "utf-8" (no BOM) over bytes that are not UTF-8,
    Latin-1 in practice, read as cp1252. Other declared charsets are trusted (a stray bad
    byte in Shift_JIS must not turn it into cp1252)."""
    return codecs.lookup(encoding).name == "utf-8" and not skip and _detect(body) != "utf-8"


def sniff_encoding(body: bytes, content_type: str | None = None) -> str:
    """The encoding a browser would use for ``body`` served with ``content_type``: the one
    ``decode_html`` reports, without decoding the body (only a body said to be UTF-8 is
    checked, and an ASCII one needs no check)."""
    encoding, skip = _declared(body, content_type)
    return "cp1252" if _not_utf8(body, encoding, skip) else encoding
