"""One deadline per page: connect, headers and body together, enforced from outside the read.

Socket timeouts bound each ``recv``, not the whole response: a server sending one byte per
second never trips a 10 s read timeout. So every fetch carries a ``Deadline``; the transport
attaches the connection it uses, and one shared watchdog thread shuts that connection's
socket down when the deadline passes, which wakes the blocked read with an error the fetcher
reports as ``read_timeout``. Deadlines are handed out in increasing order, so registering
one rarely wakes the watchdog; a finished deadline is skipped when its time comes.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

Clock = Callable[[], float]


class Deadline:
    """The moment a fetch must be over; ``attach`` connections, ``finish`` when done."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self.seconds, self._clock = seconds, clock
        self.at = clock() + seconds
        self._lock = threading.Lock()
        self._conns: list[Any] = []
        self._finished = False
        self._expired = False
        self._watched = False

    def remaining(self) -> float:
        return self.at - self._clock()

    @property
    def expired(self) -> bool:
        return self._expired or self.remaining() <= 0

    def attach(self, conn: Any) -> None:
        """Watch ``conn`` (anything with a ``sock`` attribute) until ``finish``.

        The connection remembers its current deadline: once the pool hands it to another
        request, that request's deadline owns it and this one will never shut it down.
        """
        conn.fleet_deadline = self
        with self._lock:
            if self._finished:
                return
            self._conns.append(conn)
            first = not self._watched
            self._watched = True
        if first:
            _WATCHDOG.watch(self)

    def finish(self) -> None:
        with self._lock:
            self._finished = True
            self._conns.clear()

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._expired = True
            conns = list(self._conns)
        for conn in conns:
            sock = getattr(conn, "sock", None)
            if sock is None or getattr(conn, "fleet_deadline", None) is not self:
                continue
            with contextlib.suppress(OSError):  # already closed: nothing left to wake
                sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cv:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (deadline.at, next(self._seq), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines",
                                                daemon=True)
                self._thread.start()
            elif earliest is None or deadline.at < earliest:
                self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._heap:
                    self._cv.wait()
                at, _, deadline = self._heap[0]
                # Deadlines use their own clocks; the watchdog's unit is time.monotonic.
                wait = deadline.remaining()
                if wait > 0 and not deadline._finished:
                    self._cv.wait(min(wait, 1.0))
                    continue
                heapq.heappop(self._heap)
            deadline._expire()


_WATCHDOG = _Watchdog()

__all__ = ["Deadline"]
