"""``MockTransport``: scripted responses and exceptions, the local implementation for tests.

A script maps a URL to a ``Scripted`` response or to an exception instance (raised as the
HTTP stack would raise it, e.g. ``urllib3.exceptions.ProtocolError``), or to a list of them
served in turn (the last one repeats). Unknown URLs answer 404. Every request is recorded in
``sent`` (URL and proxy id), so a test can count what reached "the network".

Bodies are served as given, in chunks of ``chunk`` bytes; ``Content-Encoding: gzip`` or
``deflate`` bodies are decoded as urllib3 does. A scripted ``delay_per_chunk`` consults the
request's ``Deadline`` instead of sleeping, so deadline tests need no wall clock: the fake
clock of the deadline advances by the delay.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from urllib3.exceptions import ReadTimeoutError

from fleet_assets.lib.http.transport import Request


@dataclass(frozen=True)
class Scripted:
    status: int = 200
    body: bytes = b""
    headers: Sequence[tuple[str, str]] = ()
    chunk: int = 65536
    delay_per_chunk: float = 0.0  # seconds the fake clock advances per chunk
    fail_after: BaseException | None = None  # raised once the body has been served

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Scripted:
        return cls(status=status, headers=(("Location", location),))


Entry = Scripted | BaseException


@dataclass
class MockResponse:
    scripted: Scripted
    request: Request
    advance: Callable[[float], None] | None
    status: int = 0
    headers: Sequence[tuple[str, str]] = ()
    released: bool = False
    closed: bool = False

    def __post_init__(self) -> None:
        self.status = self.scripted.status
        self.headers = list(self.scripted.headers)

    def stream(self, amt: int) -> Iterator[bytes]:
        s = self.scripted
        body = _decode(s.body, dict((k.lower(), v) for k, v in s.headers))
        step = max(1, min(amt, s.chunk))
        for i in range(0, len(body), step):
            if s.delay_per_chunk and self.advance is not None:
                self.advance(s.delay_per_chunk)
            if self.request.deadline.expired:
                raise ReadTimeoutError(None, self.request.url, "deadline passed")  # type: ignore[arg-type]
            yield body[i:i + step]
        if s.fail_after is not None:
            raise s.fail_after

    def release(self) -> None:
        self.released = True

    def close(self) -> None:
        self.closed = True


def _decode(body: bytes, headers: Mapping[str, str]) -> bytes:
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding == "gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


@dataclass
class MockTransport:
    """Serves ``script``; ``advance`` moves the fake clock of the deadlines (optional)."""

    script: dict[str, Entry | list[Entry]] = field(default_factory=dict)
    advance: Callable[[float], None] | None = None
    sent: list[tuple[str, str | None]] = field(default_factory=list)
    _served: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, request: Request) -> MockResponse:
        with self._lock:
            self.sent.append((request.url, request.proxy.id if request.proxy else None))
            n = self._served.get(request.url, 0)
            self._served[request.url] = n + 1
        entry = self.script.get(request.url, Scripted(404, b"not scripted"))
        if isinstance(entry, list):
            entry = entry[min(n, len(entry) - 1)]
        if isinstance(entry, BaseException):
            raise entry
        return MockResponse(entry, request, self.advance)

    def close(self) -> None:
        pass


__all__ = ["MockResponse", "MockTransport", "Scripted"]
