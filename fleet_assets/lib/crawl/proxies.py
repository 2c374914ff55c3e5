"""The proxy pool: rotation on class B, and per-target bans that outlive steps and runs.

Reads: ``proxies`` (URLs such as ``http://${PROXY_USER}:${PROXY_PASS}@127.0.0.1:8081``;
``${VAR}`` / ``${VAR:-default}`` expanded from the environment by ``urlrefs.expand_env``),
``proxy_cooldown_seconds`` (how long a burned proxy rests for that target).

A ban lives in the object store at ``state/proxies/<target>/<proxy id, safe>.json`` as
``{"proxy": id, "until": epoch, "reason": ..., "burned_at": epoch}``, written with
``put`` (atomic replace), so every step, run and process sharing the store sees it. Burns
are idempotent: a burn that would not extend the ban writes nothing; two racing burns both
write and the last write wins, which at worst shortens a ban to one of the two cooldowns.
Expired bans are left in place (deleting one could erase a newer ban written meanwhile).
The pool re-reads the bans at most every ``refresh_seconds`` and sees its own burns at once.

Credentials never leave ``Proxy.url``: ``repr``/``str``, ids, ban records, log lines and
error messages carry the host and port only (``redact`` strips ``user:pass@``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fleet_assets.lib.failures import ConfigError, ProxiesExhausted
from fleet_assets.lib.keys import check_target
from fleet_assets.lib.store.base import ObjectMissing, ObjectStore
from fleet_assets.lib.urlrefs import PROXY_SCHEMES, expand_env  # one list: load and run agree

log = logging.getLogger(__name__)

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#]+)@")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def redact(text: str) -> str:
    """Replace the ``user:pass@`` of every URL in ``text`` with ``***@``."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", str(text))


def _describe(url: str) -> str:
    """A proxy URL for an error message: scheme and what follows the last '@' only."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}" if sep else "<unparseable>"


@dataclass(frozen=True, repr=False)
class Proxy:
    url: str
    id: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if parts is None or parts.scheme not in PROXY_SCHEMES or not parts.hostname or not port:
            raise ConfigError(
                f"proxy {_describe(self.url)!r} is not a proxy URL; write "
                "scheme://[${USER_VAR}:${PASS_VAR}@]host:port with scheme one of "
                f"{', '.join(PROXY_SCHEMES)}"
            )
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        pid = f"{host}:{port}"
        if parts.username:
            # Gateways share host:port and tell sessions apart by user name: keep them apart
            # without writing the name down.
            pid += "~" + hashlib.sha256(parts.username.encode()).hexdigest()[:8]
        object.__setattr__(self, "id", pid)

    @classmethod
    def from_config(cls, text: str, environ: Mapping[str, str]) -> Proxy:
        """A proxy from a config string, its ``${VAR}`` credentials percent-encoded."""
        return cls(expand_env(text, f"proxy {redact(text)}", environ, quote_values=True))

    @property
    def safe_id(self) -> str:
        """The id as one object-key segment."""
        return _UNSAFE.sub("_", self.id)

    def __repr__(self) -> str:
        return f"Proxy(id={self.id!r})"

    def __str__(self) -> str:
        return redact(self.url)


def ban_key(target: str, proxy: Proxy) -> str:
    return f"state/proxies/{check_target(target)}/{proxy.safe_id}.json"


Clock = Callable[[], float]


class ProxyPool:
    """Round-robin over the proxies not burned for the target."""

    def __init__(self, proxies: Iterable[Proxy], store: ObjectStore, cooldown_seconds: float,
                 clock: Clock = time.time, refresh_seconds: float = 1.0) -> None:
        self.proxies: tuple[Proxy, ...] = tuple(dict.fromkeys(proxies))
        if not cooldown_seconds >= 0:
            raise ConfigError(f"proxy cooldown_seconds must be >= 0, got {cooldown_seconds!r}")
        self.store, self.cooldown_seconds = store, float(cooldown_seconds)
        self.clock, self.refresh_seconds = clock, refresh_seconds
        self._lock = threading.Lock()
        self._next = 0
        self._cache: dict[str, tuple[float, dict[str, float]]] = {}

    @property
    def size(self) -> int:
        return len(self.proxies)

    def __repr__(self) -> str:
        return f"ProxyPool({[p.id for p in self.proxies]!r})"

    # -- bans --------------------------------------------------------------------------------
    def _read(self, target: str, proxy: Proxy) -> float | None:
        key = ban_key(target, proxy)
        try:
            doc = json.loads(self.store.get(key))
            return float(doc["until"])
        except ObjectMissing:
            return None
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable proxy ban record %s", key)
            return None

    def burned(self, target: str) -> dict[str, float]:
        """``{proxy id: until}`` for the bans of ``target`` still in force (read fresh)."""
        now = self.clock()
        bans = {}
        for proxy in self.proxies:
            until = self._read(target, proxy)
            if until is not None and until > now:
                bans[proxy.id] = until
        with self._lock:
            self._cache[target] = (now, dict(bans))
        return bans

    def _bans(self, target: str) -> dict[str, float]:
        with self._lock:
            cached = self._cache.get(target)
        if cached is not None and self.clock() - cached[0] < self.refresh_seconds:
            return cached[1]
        return self.burned(target)

    def burn(self, target: str, proxy: Proxy, reason: str,
             cooldown: float | None = None) -> float:
        """Ban ``proxy`` for ``target`` until now + cooldown; returns the ban's ``until``."""
        now = self.clock()
        until = now + (self.cooldown_seconds if cooldown is None else max(0.0, cooldown))
        existing = self._read(target, proxy)
        if existing is not None and existing >= until:
            until = existing
        else:
            doc = {"proxy": proxy.id, "until": until, "reason": redact(reason)[:500],
                   "burned_at": now}
            self.store.put(ban_key(target, proxy), json.dumps(doc, sort_keys=True).encode())
            log.info("proxy %s burned for %s for %.0fs: %s", proxy.id, target, until - now,
                     redact(reason))
        with self._lock:
            stamp, bans = self._cache.get(target, (now, {}))
            self._cache[target] = (stamp, {**bans, proxy.id: until})
        return until

    # -- choosing ----------------------------------------------------------------------------
    def pick(self, target: str, avoid: set[str] | None = None) -> Proxy | None:
        """The next proxy not burned for ``target``, preferring ids not in ``avoid``.

        None when the pool is empty (go direct) or every proxy is burned; use
        ``pick_or_raise`` to tell the two apart.
        """
        if not self.proxies:
            return None
        now = self.clock()
        bans = self._bans(target)
        free = [p for p in self.proxies if bans.get(p.id, 0.0) <= now]
        preferred = [p for p in free if not avoid or p.id not in avoid] or free
        if not preferred:
            return None
        with self._lock:
            # Round-robin over the whole pool, skipping the burned and avoided ones.
            order = {p.id: i for i, p in enumerate(self.proxies)}
            start = self._next
            chosen = min(preferred, key=lambda p: (order[p.id] - start) % len(self.proxies))
            self._next = (order[chosen.id] + 1) % len(self.proxies)
        return chosen

    def pick_or_raise(self, target: str, avoid: set[str] | None = None) -> Proxy | None:
        """Like ``pick``, but every proxy burned raises ``ProxiesExhausted`` (class B)."""
        proxy = self.pick(target, avoid)
        if proxy is None and self.proxies:
            bans = self._bans(target)
            until = min(bans.values()) if bans else self.clock()
            raise ProxiesExhausted(target, until, len(self.proxies))
        return proxy
