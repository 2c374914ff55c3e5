"""Page chrome shared by every sandbox site: head, navigation, cookie banner, footer.

Real pages are mostly boilerplate around a little data; the chrome brings each page to
4-8 KB so parsers and stores see realistic sizes. It never uses a class name that a
``targets.yaml`` selector looks for. ``drifted=True`` renders a redesigned chrome (other
class names and structure), the way a site relaunch changes everything at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from html import escape

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330}
header,footer{background:#f4f5f7;padding:12px 24px}nav a{margin-right:14px;color:#2456a6}
main{max-width:960px;margin:0 auto;padding:24px}.crumbs{font-size:13px;color:#5b6475}
.cookie{position:fixed;bottom:0;left:0;right:0;background:#222;color:#eee;padding:10px}
.legal{font-size:12px;color:#6b7385}.cols{display:flex;gap:32px}.cols ul{list-style:none}
""".strip()

_FOOTER_COLUMNS = {
    "Company": ["About us", "Careers", "Press", "Investors", "Sustainability"],
    "Help": ["Contact", "Shipping", "Returns", "Order status", "Accessibility"],
    "Legal": ["Terms", "Privacy", "Cookies", "Impressum", "Modern slavery statement"],
    "Regions": ["Deutschland", "España", "Österreich", "Sverige", "Česko", "日本"],
}

_LEGAL = (
    "© Fleet Sandbox Société Anonyme · Rue de l'Été 12, 1000 Bruxelles · "
    "Prices include VAT where applicable; délais de livraison indicatifs. "
    "All names, products, companies and events on this site are invented for testing "
    "crawlers and bear no relation to any real entity. Straße, café, naïve, façade."
)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


@lru_cache(maxsize=2)
def _footer(drifted: bool) -> str:
    cls = "ft-grid" if drifted else "cols"
    columns = []
    for heading, items in _FOOTER_COLUMNS.items():
        links = "".join(
            f'<li><a href="/info/{_slug(heading)}/{_slug(item)}">{escape(item)}</a></li>'
            for item in items
        )
        columns.append(f"<div><h4>{escape(heading)}</h4><ul>{links}</ul></div>")
    legal_cls = "ft-fine" if drifted else "legal"
    return (
        f'<footer><div class="{cls}">{"".join(columns)}</div>'
        f'<p class="{legal_cls}">{escape(_LEGAL)}</p></footer>'
    )


@lru_cache(maxsize=16)
def _links(nav: tuple[tuple[str, str], ...]) -> str:
    return "".join(f'<a href="{escape(h)}">{escape(t)}</a>' for t, h in nav)


def page(
    *,
    site: str,
    title: str,
    main: str,
    nav: list[tuple[str, str]],
    crumbs: list[tuple[str, str]],
    drifted: bool = False,
) -> bytes:
    """A complete UTF-8 HTML document; ``main`` is trusted markup, the rest is escaped."""
    nav_html = _links(tuple(nav))
    crumb_html = " › ".join(f'<a href="{escape(h)}">{escape(t)}</a>' for t, h in crumbs)
    if drifted:
        header = (
            f'<div id="app-shell"><div class="topbar" role="banner">'
            f'<span class="brand-mark">{escape(site)}</span>'
            f'<div class="menu" role="navigation">{nav_html}</div></div>'
            f'<ol class="trail">{crumb_html}</ol>'
        )
        body = f'{header}<section class="content-root">{main}</section>{_footer(True)}</div>'
    else:
        header = (
            f'<header><strong class="brand">{escape(site)}</strong><nav>{nav_html}</nav></header>'
            f'<div class="crumbs">{crumb_html}</div>'
        )
        body = f"{header}<main>{main}</main>{_footer(False)}"
    cookie = (
        '<div class="cookie" id="cookie-banner">We use cookies to remember your basket and '
        "language. <button>Accept all</button> <button>Only necessary</button></div>"
    )
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} | {escape(site)}</title><style>{_CSS}</style>"
        '<link rel="icon" href="/favicon.ico"></head>'
        f"<body>{body}{cookie}"
        "<script>window.dataLayer=window.dataLayer||[];"
        'function gtag(){dataLayer.push(arguments)}gtag("js",0);</script>'
        "</body></html>\n"
    )
    return doc.encode()


def paragraphs(texts: Iterable[str]) -> str:
    return "".join(f"<p>{escape(t)}</p>" for t in texts)
