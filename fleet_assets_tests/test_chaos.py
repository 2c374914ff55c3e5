"""The chaos run at CI size: 500 pages under every fault, one SIGKILL, nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_chaos_run_with_a_sigkill_loses_and_duplicates_nothing():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                     os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "bench.chaos", "--pages", "500", "--kills", "1",
                           "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["kills"] == 1, result["log"]
    assert result["pages"] >= 400 and result["gone_pages"] > 0
    assert result["pages_lost"] == 0, result["examples"]
    assert result["records_duplicated"] == 0
    assert result["records"] == result["pages"]
    assert result["untombstoned_404s"] == 0, result["examples"]
    assert result["stale_partial_objects"] == 0, result["examples"]
    assert proc.returncode == 0
