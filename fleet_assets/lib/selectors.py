"""Selectors checked at load: a selector that cannot work is a configuration error, never drift.

lxml compiles an XPath lazily: an unknown function, an undefined ``$variable`` or namespace
prefix only raises when evaluation reaches it, so on a page where the path matches nothing
the selector "works" and the field reads as missing: the drift checks then blame the site
and open the circuit. cssselect likewise accepts pseudo-classes it translates to a condition
that never matches (``:hover``, ``:visited``...). So each selector is compiled, checked
statically for those mistakes, and dry-run against a small document.

``selector_problem(css=..., xpath=...)`` returns the problem and its fix as one sentence,
or None. Reads no settings.
"""

from __future__ import annotations

import re

from cssselect import SelectorError, parse
from cssselect import parser as css_tree
from lxml import etree, html
from lxml.cssselect import CSSSelector

# XPath 1.0 core functions and node-type tests (the only functions lxml's XPath() knows
# without extensions, which we never register).
XPATH_FUNCTIONS = frozenset({
    "last", "position", "count", "id", "local-name", "namespace-uri", "name", "string",
    "concat", "starts-with", "contains", "substring-before", "substring-after", "substring",
    "string-length", "normalize-space", "translate", "boolean", "not", "true", "false", "lang",
    "number", "sum", "floor", "ceiling", "round",
    "node", "text", "comment", "processing-instruction",
})
# Pseudo-classes that mean something on a static, fetched document.
CSS_PSEUDO = frozenset({
    "first-child", "last-child", "only-child", "first-of-type", "last-of-type",
    "only-of-type", "empty", "root",
})
CSS_FUNCTIONS = frozenset({
    "nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type", "contains", "lang",
})
_STRINGS = re.compile(r"\"[^\"]*\"|'[^']*'")
_CALL = re.compile(r"(?<![\w.:@$-])([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*\(")
_VARIABLE = re.compile(r"\$\s*([A-Za-z_][\w.:-]*)?")
_PREFIX = re.compile(r"(?<![\w.:$-])([A-Za-z_][\w.-]*):(?!:)(?=[A-Za-z_*])")
_AXES = ("ancestor", "ancestor-or-self", "attribute", "child", "descendant",
         "descendant-or-self", "following", "following-sibling", "namespace", "parent",
         "preceding", "preceding-sibling", "self")
_SAMPLE = html.fromstring(
    "<html><head><title>t</title></head><body><div id='a' class='c'><p>x <a href='/y'>y</a>"
    "</p><span data-n='1'>1</span><img src='i.png'/><ul><li>1</li><li>2</li></ul></div>"
    "</body></html>"
)


def _xpath_problem(expr: str) -> str | None:
    bare = _STRINGS.sub("0", expr)
    if "'" in bare or '"' in bare:
        return f"invalid XPath {expr!r}: a string literal is not closed; close the quote"
    var = _VARIABLE.search(bare)
    if var:
        return (f"invalid XPath {expr!r}: undefined variable ${var.group(1) or ''}; no variables "
                "are defined, write the value literally")
    for m in _CALL.finditer(bare):
        name = m.group(1)
        if ":" in name:
            return (f"invalid XPath {expr!r}: undefined namespace prefix in {name}(); no "
                    "extension functions are available, use XPath 1.0 functions")
        if name not in XPATH_FUNCTIONS and name not in _AXES:
            return (f"invalid XPath {expr!r}: unknown function {name}(); use an XPath 1.0 "
                    "function (contains, starts-with, normalize-space, ...)")
    for m in _PREFIX.finditer(bare):
        if m.group(1) not in _AXES:
            return (f"invalid XPath {expr!r}: undefined namespace prefix {m.group(1)!r}; HTML "
                    "has no namespaces here, drop the prefix or use local-name()")
    try:
        etree.XPath(expr)(_SAMPLE)
    except etree.XPathSyntaxError as exc:
        return f"invalid XPath {expr!r}: {exc}; check the syntax"
    except etree.XPathError as exc:
        return f"invalid XPath {expr!r}: {exc}; check the expression"
    return None


def _css_nodes(node: object):
    """Every node of a parsed cssselect tree (the tree has no public walker)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        for value in vars(n).values() if hasattr(n, "__dict__") else ():
            items = value if isinstance(value, list | tuple) else [value]
            stack.extend(v for v in items if type(v).__module__ == css_tree.__name__
                         and not isinstance(v, css_tree.Token))


def _css_problem(css: str) -> str | None:
    try:
        parsed = parse(css)
    except SelectorError as exc:
        return f"invalid CSS selector {css!r}: {exc}; check the syntax"
    for sel in parsed:
        if sel.pseudo_element is not None:
            return (f"invalid CSS selector {css!r}: pseudo-element ::{sel.pseudo_element} "
                    "selects no element; drop it (use attr: to read an attribute)")
        for node in _css_nodes(sel.parsed_tree):
            if isinstance(node, css_tree.Pseudo) and node.ident.lower() not in CSS_PSEUDO:
                return (f"invalid CSS selector {css!r}: pseudo-class :{node.ident} never "
                        "matches a fetched page; use a class, attribute or structural "
                        "pseudo-class (:first-child, :nth-of-type(), ...)")
            if isinstance(node, css_tree.Function) and node.name.lower() not in CSS_FUNCTIONS:
                return (f"invalid CSS selector {css!r}: :{node.name}() is not supported; use "
                        ":nth-child(), :nth-of-type(), :contains() or an attribute selector")
    try:
        CSSSelector(css)(_SAMPLE)
    except (SelectorError, etree.XPathError) as exc:
        return f"invalid CSS selector {css!r}: {exc}; check the syntax"
    return None


def selector_problem(css: str | None = None, xpath: str | None = None) -> str | None:
    """Why this selector cannot work, with the fix; None when it compiles and runs."""
    if (css is None) == (xpath is None):
        return "give exactly one of 'css' or 'xpath'"
    expr = css if css is not None else xpath
    if not isinstance(expr, str) or not expr.strip():
        return "the selector must be a non-empty string"
    return _css_problem(expr) if css is not None else _xpath_problem(expr)
