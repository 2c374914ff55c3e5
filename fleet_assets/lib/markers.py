"""Block-page markers: what a CAPTCHA or interstitial served with a good status looks like.

``Taxonomy.classify`` (``failures.py``) calls a body that matches one of them class B: the
site is refusing this client, and the page must never be stored as data. Two kinds, both
replaceable per target (``taxonomy: {captcha_markers: [...], captcha_patterns: [...]}``):

- ``DEFAULT_CAPTCHA_MARKERS``: literal text, matched case-insensitively;
- ``DEFAULT_CAPTCHA_PATTERNS``: regular expressions, matched case-insensitively.

The bare word "captcha" is not a default: real pages carry reCAPTCHA widgets in their forms.
Reads no settings.
"""

# Block pages of the widely documented bot walls, by vendor. Only what appears on the wall
# itself counts: a vendor's sensor script or a reCAPTCHA/hCaptcha/Turnstile widget in an
# ordinary form is not a block, nor is a page that mentions "captcha" (a "Captcha kit"
# product). A wall nobody listed is caught by the suspect refetch (``crawl/crawler.py``).
DEFAULT_CAPTCHA_MARKERS = (
    # Cloudflare managed challenge / "Just a moment..." / "Attention Required!"
    "/cdn-cgi/challenge-platform", "cf-chl", "cf_chl_", "cf-browser-verification",
    # Akamai Bot Manager challenge and its "Access Denied" reference page
    "/_sec/cp_challenge/", "sec-if-cpt-container", "errors.edgesuite.net",
    # Imperva / Incapsula
    "_incapsula_resource", "incapsula incident id",
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
    # a <title> that *is* a challenge (hCaptcha and reCAPTCHA walls, generic walls)
    r"<title[^>]*>\s*(just a moment|attention required|verify you are (a )?human|"
    r"please verify you are (a )?human|are you a (robot|human)|human verification|"
    r"pardon our interruption|one more step)",
    r"<title[^>]*>\s*access denied\s*(\|[^<]*)?</title>",
    r"<h1[^>]*>\s*access denied\s*</h1>",
    r"our systems have detected unusual traffic",
)
