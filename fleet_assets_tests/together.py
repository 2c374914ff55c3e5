"""Run one function in N threads released at the same instant (races on purpose)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_together(n: int, fn: Callable[[int], object]) -> list[object]:
    """Call ``fn(0..n-1)`` in ``n`` threads that start together; their results, in order."""
    barrier, results = threading.Barrier(n), [None] * n

    def one(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
