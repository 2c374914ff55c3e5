"""Compile a CSS or XPath selector once (lxml), for both validation and extraction.

``targets.py`` compiles every selector while it loads targets.yaml, so a bad expression
fails the load with its target and field; ``extract.py`` runs the same cached compiled
selector over each page. Living apart from both keeps the import graph one way
(``extract`` -> ``targets`` -> ``selectors``).
"""

from __future__ import annotations

from functools import lru_cache

from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector


@lru_cache(maxsize=512)
def compile_expression(css: str | None, xpath: str | None) -> etree.XPath:
    """The compiled selector; a ``ValueError`` names the bad expression."""
    if css is not None:
        try:
            return CSSSelector(css)
        except SelectorError as exc:
            raise ValueError(f"invalid CSS selector {css!r}: {exc}; check the syntax") from None
    try:
        return etree.XPath(str(xpath))
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"invalid XPath {xpath!r}: {exc}; check the syntax") from None
