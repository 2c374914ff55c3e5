"""Deadline: one bound for a whole fetch, enforced by shutting the socket of a read that blocks."""

from __future__ import annotations

import socket

from fleet_assets.lib.http.deadline import Deadline

BUDGET = 60.0  # a generous bound on how long the watchdog may take; never a benchmark


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Conn:
    """What the transport attaches: anything with a ``sock``."""

    def __init__(self) -> None:
        self.sock, self.peer = socket.socketpair()
        self.sock.settimeout(BUDGET)

    def blocked_read_ends(self) -> bool:
        """A read on a socket the peer never writes to: it returns only if shut down."""
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()
        self.peer.close()


def test_the_remaining_time_follows_the_injected_clock():
    clock = Clock()
    d = Deadline(10, clock=clock)
    assert d.remaining() == 10 and not d.expired
    clock.now += 9.5
    assert d.remaining() == 0.5 and not d.expired
    clock.now += 0.5
    assert d.expired


def test_a_passed_deadline_wakes_a_read_that_would_block_forever():
    clock = Clock()
    conn = Conn()
    try:
        d = Deadline(5, clock=clock)
        d.attach(conn)
        clock.now += 5  # the watchdog reads the deadline's clock: due now
        assert conn.blocked_read_ends()
        assert d.expired and conn.fleet_deadline is d
    finally:
        conn.close()


def test_a_finished_deadline_or_a_connection_handed_on_is_never_shut_down():
    clock = Clock()
    finished, handed_on, last = Conn(), Conn(), Conn()
    try:
        done = Deadline(1, clock=clock)
        done.attach(finished)
        done.finish()
        old = Deadline(2, clock=clock)
        old.attach(handed_on)
        newer = Deadline(1000, clock=clock)
        newer.attach(handed_on)  # the pool gave the connection to another request
        witness = Deadline(3, clock=clock)
        witness.attach(last)
        clock.now += 10
        # The watchdog takes deadlines in order: once the last one woke its read, the two
        # before it were handled, and neither socket was shut down.
        assert last.blocked_read_ends()
        for conn in (finished, handed_on):
            conn.peer.sendall(b"x")
            assert conn.sock.recv(1) == b"x"
    finally:
        newer.finish()  # else it heads the shared watchdog's queue for the rest of the session
        for conn in (finished, handed_on, last):
            conn.close()


def test_attaching_after_finish_does_not_watch_the_connection():
    clock = Clock()
    conn, witness_conn = Conn(), Conn()
    try:
        d = Deadline(1, clock=clock)
        d.finish()
        d.attach(conn)
        witness = Deadline(2, clock=clock)
        witness.attach(witness_conn)
        clock.now += 10
        assert witness_conn.blocked_read_ends()
        conn.peer.sendall(b"y")
        assert conn.sock.recv(1) == b"y"
    finally:
        conn.close()
        witness_conn.close()
