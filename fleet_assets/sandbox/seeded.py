"""Seeded, clock-free randomness for the sandbox's content and fault choices.

Every value the site shows is a pure function of its inputs (a date, an item id, a seed):
``unit("shop", sku, date)`` is the same number in every process, on every run. Nothing here
touches the wall clock or the global ``random`` state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re

EPOCH = dt.date(2020, 1, 1)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_WORDS = [
    "amber",
    "harbor",
    "quiet",
    "signal",
    "river",
    "market",
    "copper",
    "garden",
    "north",
    "velvet",
    "summit",
    "lantern",
    "orbit",
    "meadow",
    "granite",
    "pilot",
    "cedar",
    "falcon",
    "silver",
    "harvest",
    "beacon",
    "canyon",
    "willow",
    "ember",
    "atlas",
    "coral",
    "delta",
    "frost",
    "glacier",
    "horizon",
    "island",
    "jasper",
    "kestrel",
    "lagoon",
    "maple",
    "nimbus",
    "onyx",
    "prairie",
    "quartz",
    "raven",
    "sierra",
    "tundra",
    "umber",
    "valley",
    "wander",
    "zenith",
]


def stable_hash(*parts: object) -> int:
    """A 64-bit integer that depends only on ``parts`` (never on PYTHONHASHSEED)."""
    data = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def unit(*parts: object) -> float:
    """A float in [0, 1) that depends only on ``parts``."""
    return stable_hash(*parts) / 2**64


def pick(seq, *parts: object):
    return seq[stable_hash(*parts) % len(seq)]


def rng(*parts: object) -> random.Random:
    """A private generator seeded from ``parts``, for content needing many draws."""
    return random.Random(stable_hash(*parts))


def words(r: random.Random, n: int) -> list[str]:
    return [r.choice(_WORDS) for _ in range(n)]


def parse_date(text: str) -> dt.date | None:
    """The partition date in ``text`` if it is a real YYYY-MM-DD on or after 2020-01-01."""
    if not _DATE.match(text):
        return None
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return date if date >= EPOCH else None


def day_number(date: dt.date) -> int:
    return (date - EPOCH).days


def money(amount: float) -> str:
    """``1299.0`` -> ``"$1,299.00"``."""
    return f"${amount:,.2f}"
