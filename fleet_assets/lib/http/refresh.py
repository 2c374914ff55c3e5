"""An instant ``<meta http-equiv="refresh">``: a redirect written in HTML, as browsers follow.

Old sites and moved documentation pages answer 200 with only
``<meta http-equiv="refresh" content="0; url=/new">``. A browser goes on to ``/new``; read as
the page, it yields no field, is asked again as a suspect and becomes confirmed C: a false
drift alarm, and the real page is never fetched. ``HttpFetcher`` follows it as one more hop
of the redirect chain, conservatively: only a delay of at most ``MAX_DELAY_SECONDS`` (an
"instant" redirect, not a page that reloads itself every few minutes), only in the first
4 KiB of an HTML body, and only to a URL the target's origin policy allows that the chain
has not visited. Anything else leaves the 200 page as it is. Reads no settings.
"""

from __future__ import annotations

import html
import re
from collections.abc import Container

from fleet_assets.lib.failures import FetchOutcome
from fleet_assets.lib.http.origins import BadURL, Offsite, OriginPolicy, ParsedURL, location_url

MAX_DELAY_SECONDS = 1.0
_HEAD_BYTES = 4096
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_EQUIV = re.compile(rb"""http-equiv\s*=\s*["']?\s*refresh\b""", re.IGNORECASE)
_CONTENT = re.compile(rb"""\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_VALUE = re.compile(r"""^\s*(\d+(?:\.\d*)?)\s*[;,]?\s*(?:url\s*=\s*)?["']?([^"']*)""",
                    re.IGNORECASE)


def refresh_url(body: bytes, content_type: str | None = None) -> str | None:
    """The URL of an instant meta refresh in ``body`` (as written), or None."""
    if content_type and "html" not in content_type.lower():
        return None
    for tag in _META.findall(body[:_HEAD_BYTES]):
        content = _CONTENT.search(tag)
        if not _EQUIV.search(tag) or content is None:
            continue
        raw = next(g for g in content.groups() if g is not None)
        value = _VALUE.match(html.unescape(raw.decode("latin-1")))
        if value is None or float(value.group(1)) > MAX_DELAY_SECONDS:
            return None
        return value.group(2).strip() or None
    return None


def refresh_target(outcome: FetchOutcome, current: str, policy: OriginPolicy,
                   seen: Container[str]) -> ParsedURL | None:
    """The next hop an instant refresh names, when it may be followed; None keeps the page."""
    if outcome.error is not None or outcome.status != 200 or not outcome.body:
        return None
    target = refresh_url(outcome.body, outcome.header("content-type"))
    if target is None:
        return None
    try:
        nxt = policy.check(location_url(current, target))
    except (BadURL, Offsite):
        return None  # a hint only: never fail a page that loaded over it
    return None if nxt.url in seen else nxt
