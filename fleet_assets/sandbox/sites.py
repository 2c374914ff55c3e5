"""Pages that belong to no single site: robots.txt, the CAPTCHA interstitial, error pages."""

from __future__ import annotations

from fleet_assets.sandbox import layout
from fleet_assets.sandbox.faults import Faults

_REASONS = {
    400: "Bad request",
    403: "Access denied",
    404: "Not found",
    410: "Gone",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def robots_txt(faults: Faults) -> bytes:
    lines = ["# Fleet sandbox", "User-agent: *"]
    lines += [f"Disallow: {prefix}" for prefix in faults.robots_disallow]
    if not faults.robots_disallow:
        lines.append("Allow: /")
    if faults.crawl_delay is not None:
        lines.append(f"Crawl-delay: {faults.crawl_delay:g}")
    return ("\n".join(lines) + "\n").encode()


def captcha_page() -> bytes:
    main = (
        '<div id="captcha-challenge" class="challenge"><h1>Are you a robot?</h1>'
        "<p>Our systems have detected unusual traffic from your network. Please solve the "
        "captcha below to continue.</p>"
        '<form method="post" action="/_challenge"><div class="captcha-box" data-sitekey="x1">'
        '</div><button type="submit">Verify</button></form></div>'
    )
    return layout.page(
        site="Security check", title="Verify you are human (captcha)", main=main, nav=[], crumbs=[]
    )


def interstitial_page() -> bytes:
    """A browser check in a style of its own: no vendor's markers, nothing a default knows."""
    main = (
        '<div class="gate-check"><h2>One moment, please</h2><p>We are checking your '
        "browser before you reach the site. This takes a second.</p>"
        '<noscript>Enable JavaScript to continue.</noscript></div>'
    )
    return layout.page(site="Gate", title="One moment, please", main=main, nav=[], crumbs=[])


def error_page(status: int) -> bytes:
    reason = _REASONS.get(status, "Error")
    main = f'<div class="error-page"><h1>{status} {reason}</h1><p>Please try again later.</p></div>'
    return layout.page(site="Fleet", title=reason, main=main, nav=[], crumbs=[])
