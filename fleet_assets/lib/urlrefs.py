"""``${VAR}`` references in configured URLs: where a URL may name a secret, and when it expands.

A reference in the *location* of a URL (the whole base, as in
``${FLEET_SANDBOX_URL:-http://127.0.0.1:8787}/shop``, or the host and port) is expanded at
load: it says where the site is, and the stored URL must say it too. A reference anywhere
else (user info, path, query) may carry a secret (``?api_key=${SHOP_KEY}``), so it is kept
as written in every stored URL (manifests, records, tombstones, natural keys) and expanded
only for the request (``request_url``). Literal credentials are refused anywhere in a URL,
even next to a reference. Reads the process environment (the variables a file names).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import quote

from fleet_assets.lib.failures import ConfigError, FetchOutcome

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MARK = "\ue000"  # stands for one reference while the URL's parts are located
# Query parameters that carry a credential: short generic names only as the whole name
# (``key=``, not ``sortkey=``), descriptive ones also as a suffix (``x_api_key``).
_SECRET_PARAM = re.compile(
    r"(?i)^(key|sig|sid|auth)$|(pass(word|wd)?|pwd|secret|token|api[-_]?key|"
    r"access[-_]?key|credentials?|signature|session[-_]?id)$"
)
PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


def expand_env(text: str, where: str, environ: Mapping[str, str] | None = None, *,
               quote_values: bool = False) -> str:
    """``text`` with every ``${VAR}`` / ``${VAR:-default}`` replaced; ConfigError if unset.

    The one expansion (targets.yaml URLs and proxy URLs). The error names ``where`` and the
    variable, never a value; ``quote_values`` percent-encodes the substituted values, as a
    URL's user info needs for ``@`` or ``:``.
    """
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = env.get(name, default)
        if value is None:
            raise ConfigError(f"{where}: environment variable {name} is not set; export "
                              f"{name}=... or write ${{{name}:-default}}")
        return quote(value, safe="") if quote_values else value

    return _REF.sub(sub, text)


def _marked(url: str) -> str:
    return _REF.sub(_MARK, url)


def _authority(marked: str) -> tuple[int, int]:
    """Start and end of the authority (user info, host, port) in a marked URL, or (0, 0)."""
    m = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", marked)
    if not m:
        return 0, 0
    end = len(marked)
    for ch in "/?#":
        i = marked.find(ch, m.end())
        if i != -1:
            end = min(end, i)
    return m.end(), end


def credential_problem(url: str) -> str | None:
    """Why ``url`` holds a literal credential (never quoting it), or None."""
    for m in _REF.finditer(url):
        if m.group(2) and credential_problem(m.group(2)):
            return "the default of ${" + m.group(1) + "} holds a literal credential; " \
                   "put the credential in its own ${VAR}"
    marked = _marked(url)
    start, end = _authority(marked)
    authority = marked[start:end]
    if "@" in authority:
        userinfo = authority.rsplit("@", 1)[0]
        for part in userinfo.split(":", 1):
            if part and part != _MARK:
                return ("literal credentials in the URL's user info; write them as "
                        "${USER_VAR}:${PASSWORD_VAR} and set the variables in the environment")
    query = marked.split("?", 1)[1].split("#", 1)[0] if "?" in marked else ""
    for pair in filter(None, query.split("&")):
        name, _, value = pair.partition("=")
        if _SECRET_PARAM.search(name) and value and value != _MARK:
            return (f"the query parameter {name!r} holds a literal secret; write "
                    f"{name}=${{VAR}} and set VAR in the environment")
    return None


def stored_url(url: str, where: str, environ: Mapping[str, str] | None = None) -> str:
    """The form kept everywhere: location references expanded, the others as written.

    Raises ConfigError when a referenced variable is unset (checked for every reference,
    so a missing secret is found at load, not at the first request).
    """
    expand_env(url, where, environ)
    marked = _marked(url)
    start, end = _authority(marked)
    host_from = marked.rfind("@", start, end) + 1 or start
    out: list[str] = []
    pos = 0
    for n, m in enumerate(_REF.finditer(url)):
        at = _nth_mark(marked, n)
        is_location = at == 0 or host_from <= at < end
        out.append(url[pos:m.start()])
        out.append(expand_env(m.group(0), where, environ) if is_location else m.group(0))
        pos = m.end()
    out.append(url[pos:])
    return "".join(out)


def _nth_mark(marked: str, n: int) -> int:
    at = -1
    for _ in range(n + 1):
        at = marked.find(_MARK, at + 1)
    return at


def request_url(url: str, environ: Mapping[str, str] | None = None) -> str:
    """The URL to send: the references a stored URL kept, expanded (never store the result).

    They sit in the user info, path or query, so each value is percent-encoded: a secret with
    ``&``, ``#`` or ``@`` stays one component instead of rewriting the URL.
    """
    return expand_env(url, "request URL", environ, quote_values=True) if "${" in url else url


def redact(text: str, stored: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` (a final URL, a redirect target) with the secrets ``stored`` names put back
    as their ``${VAR}`` form, so what the server echoed never reaches a manifest."""
    env = os.environ if environ is None else environ
    for m in _REF.finditer(stored):
        value = env.get(m.group(1), m.group(2) or "")
        if len(value) >= 3:  # shorter values would rewrite ordinary characters of the URL
            # Sent percent-encoded (request_url); a server may echo either form.
            for form in {quote(value, safe=""), quote(value), value}:
                text = text.replace(form, m.group(0))
    return text


def redact_outcome(outcome: FetchOutcome, stored: str,
                   environ: Mapping[str, str] | None = None) -> FetchOutcome:
    """A fetch of ``request_url(stored)`` as it may be kept: URL, final URL, redirect chain and
    headers (a Location echoes the query) name the secrets as ``${VAR}`` again."""
    if "${" not in stored:
        return outcome

    def r(text: str) -> str:
        return redact(text, stored, environ)

    return replace(
        outcome, url=stored,
        final_url=None if outcome.final_url is None else r(outcome.final_url),
        redirects=tuple(r(u) for u in outcome.redirects),
        headers={k: r(v) for k, v in outcome.headers.items()},
    )
