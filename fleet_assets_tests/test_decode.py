"""lib/decode.py: BOM, then the HTTP charset, then <meta>, then detection, as a browser."""

from __future__ import annotations

import pytest

from fleet_assets.lib.decode import decode_html, sniff_encoding

CAFE = "<h1>Caf\u00e9</h1>"


@pytest.mark.parametrize(("body", "content_type", "encoding"), [
    # a BOM wins over the header and <meta>
    (b"\xff\xfe" + CAFE.encode("utf-16-le"), "text/html; charset=utf-8", "utf-16-le"),
    (b"\xef\xbb\xbf" + CAFE.encode(), "text/html; charset=iso-8859-1", "utf-8"),
    # the header wins over <meta>
    (('<meta charset="utf-8">' + CAFE).encode("cp1252"), "text/html; charset=windows-1252",
     "cp1252"),
    # WHATWG: the label utf-16 without a BOM is little-endian
    (CAFE.encode("utf-16-le"), "text/html; charset=UTF-16", "utf-16-le"),
    (CAFE.encode("utf-16-be"), "text/html; charset=UTF-16BE", "utf-16-be"),
    # WHATWG: a <meta> naming UTF-16 is read as UTF-8 (it was readable as ASCII)
    (('<meta charset="utf-16">' + CAFE).encode(), None, "utf-8"),
    (('<meta http-equiv="Content-Type" content="text/html; charset=UTF-16LE">' + CAFE).encode(),
     "text/html", "utf-8"),
    # nothing declared: strict UTF-8, else cp1252
    (CAFE.encode(), None, "utf-8"),
    (CAFE.encode("cp1252"), "text/html; charset=x-foo", "cp1252"),
    # the common lie: "utf-8" (header or <meta>) over Latin-1 bytes
    (CAFE.encode("cp1252"), "text/html; charset=utf-8", "cp1252"),
    (('<meta charset="utf-8">' + CAFE).encode("cp1252"), None, "cp1252"),
])
def test_the_encoding_a_browser_would_use(body, content_type, encoding):
    assert sniff_encoding(body, content_type) == encoding
    assert decode_html(body, content_type)[0] == encoding  # sniff_encoding does not decode
    assert "Caf\u00e9" in decode_html(body, content_type)[1]
