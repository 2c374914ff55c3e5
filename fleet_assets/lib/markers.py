"""Block-page markers: what a CAPTCHA or interstitial served with a good status looks like.

``Taxonomy.classify`` (``failures.py``) calls a body that matches one of them class B: the
site is refusing this client, and the page must never be stored as data. Two kinds, both
replaceable per target (``taxonomy: {captcha_markers: [...], captcha_patterns: [...]}``):

- ``DEFAULT_CAPTCHA_MARKERS``: literal text, matched case-insensitively;
- ``DEFAULT_CAPTCHA_PATTERNS``: regular expressions, matched case-insensitively.

The bare word "captcha" is not a default: real pages carry reCAPTCHA widgets in their forms.
Reads no settings.
"""

DEFAULT_CAPTCHA_MARKERS = (
    'id="captcha-challenge"', "cf-chl", "cf_chl_", "/cdn-cgi/challenge-platform",
)
DEFAULT_CAPTCHA_PATTERNS = (
    r"<title>[^<]*(captcha|are you a robot|verify you are human|attention required)[^<]*</title>",
    r"<(title|h1)[^>]*>\s*access denied",
)
