"""Which URLs a target may reach: its own origins, parsed once with the transport's parser.

An origin is (scheme, host, port), the port made explicit (80 for http, 443 for https), so
``http://h:8080`` and ``http://h:8081`` are two origins. A target's origins are those of its
start URL(s) (``urls`` or ``listing.start_url``) plus its ``allowed_origins`` list. Every
request, redirect hop and listing link goes through ``OriginPolicy.check``; anything else is
``Offsite`` and is never fetched.

URLs are parsed with ``urllib3.util.parse_url``, the parser the transport connects with, so
the host checked is the host connected to (``urllib.parse`` and urllib3 disagree on
``http://a:1\\@b:2/``: urlsplit sees ``b``, urllib3 connects to ``a``). A URL with a
backslash, user info (``user@host``), control characters or whitespace, a scheme other than
http(s), or no host is ``BadURL`` before any parsing question arises.

After name resolution (``peer_allowed``, called by the transport with the address it
actually connected to), private, loopback, link-local, reserved, multicast and unspecified
addresses are refused unless the origin itself names such a place: its host is an IP
literal or ``localhost`` (the sandbox on 127.0.0.1). So a public name that resolves to
169.254.169.254 is refused even when the name is allowed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from fleet_assets.lib.failures import FleetError

DEFAULT_PORTS = {"http": 80, "https": 443}
_FORBIDDEN = re.compile(r"[\\\x00-\x20\x7f]")


class BadURL(FleetError, ValueError):
    """Not a URL the fleet fetches: malformed, not http(s), or carrying a trick."""


class Offsite(FleetError):
    """A URL (or the address it resolved to) outside the target's origins."""


@dataclass(frozen=True, order=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def names_private_place(self) -> bool:
        """The origin's host is an IP literal or ``localhost``: the user named the place."""
        if self.host == "localhost":
            return True
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


@dataclass(frozen=True)
class ParsedURL:
    url: str  # normalised by urllib3: what the transport sends
    origin: Origin
    host: str = ""  # as urllib3 spells it (IPv6 in brackets): the connection pool's key
    request_uri: str = "/"  # path and query: what a direct request puts on its request line


_TAB_NEWLINE = re.compile(r"[\t\n\r]")


def browser_url(url: str) -> str:
    """What a browser makes of a URL written in a page or a Location header: tabs and
    newlines removed and an inner space sent as ``%20`` (WHATWG URL). A link to
    ``/item/red lamp`` is a real page, not an invalid URL. Backslashes and other control
    characters are kept, so ``parse`` still refuses them (the tricks above)."""
    return _TAB_NEWLINE.sub("", url).strip(" ").replace(" ", "%20")


def location_url(base: str, location: str) -> str:
    """The URL a redirect's ``Location`` names, as a browser reads it. HTTP headers arrive
    decoded as Latin-1, but servers write raw UTF-8 (``/café``): re-read those bytes as
    UTF-8, or the next request would ask for the mojibake ``/cafÃ©`` (a 404, a tombstone)."""
    # Not UTF-8 bytes (or already decoded by the transport): keep it as it came.
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        location = location.encode("latin-1").decode("utf-8")
    return urljoin(base, browser_url(location))


def parse(url: str) -> ParsedURL:
    """Parse ``url`` once, as the transport will; ``BadURL`` names what is wrong."""
    if not isinstance(url, str) or not url:
        raise BadURL(f"{url!r} is not a URL")
    if _FORBIDDEN.search(url):
        raise BadURL(f"{url!r} contains a backslash, whitespace or a control character")
    try:
        parts = parse_url(url)
    except (LocationParseError, ValueError) as exc:
        raise BadURL(f"{url!r} is not a valid URL ({exc})") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS:
        raise BadURL(f"{url!r}: only http and https URLs are fetched")
    if not parts.host:
        raise BadURL(f"{url!r} has no host")
    if parts.auth is not None or "@" in (parts.netloc or ""):
        raise BadURL(f"{url!r} carries user info (user@host); write the host alone")
    host = parts.host.lower().strip("[]")
    port = parts.port if parts.port is not None else DEFAULT_PORTS[scheme]
    return ParsedURL(url=parts.url, origin=Origin(scheme, host, port), host=parts.host,
                     request_uri=parts.request_uri)


def origin_of(url: str) -> Origin:
    return parse(url).origin


@dataclass(frozen=True)
class OriginPolicy:
    """The origins one target may reach."""

    origins: frozenset[Origin]

    @classmethod
    def of(cls, urls: Iterable[str], allowed: Iterable[str] = ()) -> OriginPolicy:
        """The origins of ``urls`` (start URLs, ``{date}`` may remain) plus ``allowed``."""
        found = {origin_of(u.replace("{date}", "2000-01-01")) for u in [*urls, *allowed]}
        return cls(frozenset(found))

    def check(self, url: str) -> ParsedURL:
        """The parsed URL when it is one of ours; ``BadURL`` or ``Offsite`` otherwise."""
        parsed = parse(url)
        if parsed.origin not in self.origins:
            raise Offsite(f"{parsed.origin} is not an origin of this target "
                          f"({', '.join(sorted(map(str, self.origins)))}); "
                          "add it to the target's allowed_origins to fetch it")
        return parsed

    def allows(self, url: str) -> bool:
        """Whether a link may be followed (what listing and extraction call)."""
        try:
            self.check(url)
        except (BadURL, Offsite):
            return False
        return True

    def peer_allowed(self, origin: Origin, address: str) -> bool:
        """May a connection for ``origin`` go to ``address`` (the resolved peer)?"""
        if origin.names_private_place and origin in self.origins:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if getattr(ip, "ipv4_mapped", None) is not None:
            ip = ip.ipv4_mapped  # type: ignore[union-attr]
        return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                    or ip.is_multicast or ip.is_unspecified)


def target_policy(target: object) -> OriginPolicy:
    """A target's policy: its ``urls`` / ``listing.start_url`` plus ``allowed_origins``."""
    listing = getattr(target, "listing", None)
    starts = [listing.start_url] if listing is not None else list(getattr(target, "urls", ()))
    return OriginPolicy.of(starts, getattr(target, "allowed_origins", ()) or ())


def link_allowed(url: str, policy: OriginPolicy) -> bool:
    """The one check for a link found in a page: crawler, listing and extraction call it."""
    return policy.allows(url)


__all__ = ["BadURL", "Offsite", "Origin", "OriginPolicy", "ParsedURL", "browser_url",
           "link_allowed", "location_url", "origin_of", "parse", "target_policy"]
