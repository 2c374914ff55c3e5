"""Block-page markers: what a CAPTCHA or interstitial served with a good status looks like.

``Taxonomy.classify`` (``taxonomy.py``) calls a body that matches one of them class B: the
site is refusing this client, and the page must never be stored as data. Two kinds, both
replaceable per target (``taxonomy: {captcha_markers: [...], captcha_patterns: [...]}``):

- ``DEFAULT_CAPTCHA_MARKERS``: literal text, matched case-insensitively;
- ``DEFAULT_CAPTCHA_PATTERNS``: regular expressions, matched case-insensitively.

The bare word "captcha" is not a default: real pages carry reCAPTCHA widgets in their forms.
A marker must not match an ordinary page, since a B page is never stored: a false match
loses the item, while a wall no marker knows is still caught by the suspect refetch. So no
marker is a vendor script that the vendor also injects into ordinary pages (Cloudflare's
``/cdn-cgi/challenge-platform/scripts/jsd/``, Imperva's ``/_Incapsula_Resource?SWJIYLWA=``),
and a title pattern matches a title that is the wall's whole title, not one that starts
with its words ("One More Step: a memoir").
Reads no settings.
"""

import re

# Block pages of the widely documented bot walls, by vendor. Only what appears on the wall
# itself counts: a vendor's sensor script or a reCAPTCHA/hCaptcha/Turnstile widget in an
# ordinary form is not a block, nor is a page that mentions "captcha" (a "Captcha kit"
# product). A wall nobody listed is caught by the suspect refetch (``crawl/crawler.py``).
DEFAULT_CAPTCHA_MARKERS = (
    # Cloudflare managed challenge / "Just a moment..." / "Attention Required!" (not the
    # bare /cdn-cgi/challenge-platform: its jsd script is injected into ordinary pages)
    "cf-chl", "cf_chl_", "cf-browser-verification",
    # Akamai Bot Manager challenge and its "Access Denied" reference page
    "/_sec/cp_challenge/", "sec-if-cpt-container", "errors.edgesuite.net",
    "errors&#46;edgesuite&#46;net",  # as the wall writes it
    # Imperva / Incapsula: the wall's iframe (the SWJIYLWA script is on ordinary pages too)
    "_incapsula_resource?cwudnsai=", "incapsula incident id",
    # DataDome (its captcha is served from captcha-delivery.com)
    "captcha-delivery.com",
    # PerimeterX / HUMAN "Press & Hold"
    "px-captcha", "captcha.px-cdn.net",
    # Google's reCAPTCHA "unusual traffic" wall
    "www.google.com/sorry/",
)
DEFAULT_CAPTCHA_PATTERNS = (
    # the sandbox's own wall, whatever the quoting
    r"""id\s*=\s*["']?captcha-challenge""",
    # Cloudflare's challenge script (not its jsd script, which ordinary pages carry)
    r"/cdn-cgi/challenge-platform/(h/\w+/)?orchestrate/",
    # a <title> that *is* a challenge, whole (hCaptcha and reCAPTCHA walls, generic walls)
    r"<title[^>]*>\s*(just a moment|attention required|verify you are (a )?human|"
    r"please verify you are (a )?human|are you a (robot|human)|human verification|"
    r"pardon our interruption|one more step)\s*(?:[.!?]|&hellip;|…)*\s*(\(captcha\)\s*)?(\|[^<|]*)?</title>",
    r"<title[^>]*>\s*access denied\s*[.!]?\s*</title>",
    # Akamai's reference page, heading and sentence together (a song may be titled so)
    r"<h1[^>]*>\s*access denied\s*</h1>\s*you don.t have permission to access",
    r"our systems have detected unusual traffic",
)


# -- matching ------------------------------------------------------------------------------
# Verdicts are those of one ``re.IGNORECASE`` search per marker over the body bytes, found
# cheaper (a 100 KB page: 14.5 ms -> 0.6 ms): the body is lowered once (``bytes.lower`` and
# bytes IGNORECASE both fold ASCII only), literals are found with ``in``, and a pattern that
# folds safely runs case-sensitively over the lowered body, where re can skip to its literal
# prefix (IGNORECASE disables that). One combined alternation measured slower than either.
_SAFE_ESCAPES = frozenset("swdb")


def folds_safely(pattern: str) -> bool:
    """Whether ``pattern`` matches the lowered body exactly where IGNORECASE matches the body.

    True only for lowercase patterns without escapes that name characters (``\\x41``),
    backreferences, inline flags or character ranges (``[!-^]`` matches ``a`` under
    IGNORECASE but not case-sensitively); anything else keeps the IGNORECASE search.
    """
    if pattern != pattern.lower():
        return False
    in_class, i = False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1:i + 2]
            if not nxt or (nxt.isalnum() and nxt not in _SAFE_ESCAPES):
                return False
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "-" and pattern[i - 1] not in "[^" and pattern[i + 1:i + 2] not in ("]", ""):
                return False
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                i += 1
            if pattern[i + 1:i + 2] == "]":
                i += 1  # a leading ] is a literal
        elif ch == "(" and pattern[i + 1:i + 2] == "?" and pattern[i + 2:i + 3] != ":":
            return False
        i += 1
    return True


class MarkerMatcher:
    """Finds the first marker a body carries: literals, then patterns, each in their order."""

    def __init__(self, markers: tuple[str, ...], patterns: tuple[str, ...]) -> None:
        self._literals = tuple((m, m.encode().lower()) for m in markers)
        safe = [folds_safely(p) for p in patterns]
        self._patterns = tuple((p, ok, re.compile(p.encode(), 0 if ok else re.IGNORECASE))
                               for p, ok in zip(patterns, safe, strict=True))

    def first(self, body: bytes) -> str | None:
        lowered = body.lower()
        for label, needle in self._literals:
            if needle in lowered:
                return label
        for label, on_lowered, regex in self._patterns:
            if regex.search(lowered if on_lowered else body):
                return label
        return None
