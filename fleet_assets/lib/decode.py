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
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
)


def _detect(body: bytes) -> str:
    """Last resort when nothing declares a charset: strict UTF-8, else cp1252 (never fails)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _utf16_rules(body: bytes, content_type: str | None) -> str | None:
    """The Content-Type w3lib should see once the WHATWG UTF-16 rules are applied."""
    if read_bom(body)[0]:
        return content_type  # a BOM wins over everything, w3lib already does that
    header = http_content_type_encoding(content_type)
    if header is not None:
        # WHATWG's "utf-16" label is UTF-16LE; w3lib decodes it as big-endian.
        return "text/html; charset=utf-16-le" if header == "utf-16" else content_type
    meta = html_body_declared_encoding(body)
    if meta is not None and codecs.lookup(meta).name.startswith("utf-16"):
        return "text/html; charset=utf-8"
    return content_type


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """``(encoding, text)``: BOM, then the HTTP charset, then <meta>, then detection."""
    encoding, text = html_to_unicode(_utf16_rules(body, content_type), body,
                                     auto_detect_fun=_detect)
    if (codecs.lookup(encoding).name == "utf-8" and "\ufffd" in text
            and not body.startswith(codecs.BOM_UTF8) and _detect(body) != "utf-8"):
        # The one lie servers commonly tell: "utf-8" over Latin-1 bytes. Other declared
        # charsets are trusted (a stray bad byte in Shift_JIS must not turn it into cp1252).
        return "cp1252", body.decode("cp1252", "replace")
    return encoding, text


def sniff_encoding(body: bytes, content_type: str | None = None) -> str:
    """The encoding a browser would use for ``body`` served with ``content_type``."""
    return decode_html(body, content_type)[0]
