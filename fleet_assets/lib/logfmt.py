"""Log lines as ``key=value`` pairs (logfmt): greppable, and parsed by every log shipper.

``kv(event="complete", target="shop", stored=40)`` gives ``event=complete target=shop
stored=40``. A mapping value is flattened (``pending={"A": 2}`` -> ``pending_A=2``); a value
with spaces, quotes or ``=`` is double-quoted; floats keep three significant decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    text = "" if value is None else str(value)
    if not text or any(c in text for c in ' "=\t\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def kv(**fields: Any) -> str:
    parts = []
    for key, value in fields.items():
        if isinstance(value, Mapping):
            parts += [f"{key}_{k}={_value(v)}" for k, v in sorted(value.items())]
        else:
            parts.append(f"{key}={_value(value)}")
    return " ".join(parts)
