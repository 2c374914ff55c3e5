"""Time bounds that hold on a busy machine: count this process's CPU, not the wall clock.

A test that guards against runaway work (entity expansion, quadratic parsing, a YAML alias
bomb) bounds the CPU time the process spends, which other processes on two busy cores do not
inflate; the wall clock only catches a hang, with a generous limit. (At load 12 on two cores
a 20 s wall-clock limit took 55 s while the work itself took well under a second of CPU.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cpu_budget(cpu_seconds: float, hang_seconds: float = 300.0) -> Iterator[None]:
    """Fail when the block uses more than ``cpu_seconds`` of CPU or hangs past ``hang_seconds``."""
    cpu, wall = time.process_time(), time.monotonic()
    yield
    used, waited = time.process_time() - cpu, time.monotonic() - wall
    assert used < cpu_seconds, f"the block used {used:.2f} s of CPU; its budget is {cpu_seconds} s"
    assert waited < hang_seconds, f"the block took {waited:.0f} s; past {hang_seconds} s is a hang"
