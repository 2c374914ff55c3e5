"""Shared fixtures for fleet_assets tests."""

from __future__ import annotations

import pytest

from fleet_assets.sandbox import SandboxProcess


@pytest.fixture(scope="session")
def sandbox_process():
    """One sandbox child process (site + 3 proxies) per test session (per xdist worker)."""
    with SandboxProcess(proxies=3) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_process):
    """The shared sandbox with every fault knob off and the request counters at zero."""
    sandbox_process.set_faults({})
    sandbox_process.reset_stats()
    return sandbox_process
