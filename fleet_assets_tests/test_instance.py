"""A fresh FLEET_HOME survives processes that start together (dg dev: webserver + daemon)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Each child waits for the go file, then opens the instance and writes to it: the first
# start of a fresh home, by several processes at the same moment.
CHILD = """
import os, sys, time
from fleet_assets.state.instance import get_instance, register_targets
go = sys.argv[1]
open(go + "." + str(os.getpid()), "w").close()  # imported: ready to start
while not os.path.exists(go):
    time.sleep(0.001)
instance = get_instance()
register_targets(instance, ["shop", "news"])
instance.get_runs(limit=1)
print("ok", sorted(instance.get_dynamic_partitions("targets")))
"""


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_concurrent_first_starts_on_a_fresh_home_all_succeed(tmp_path, attempt):
    home = tmp_path / "home"
    env = {**os.environ, "FLEET_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home"),
           "PYTHONPATH": str(REPO)}
    go = tmp_path / "go"
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(go)], env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(3)]
    # Start them together: each has imported dagster and waits for the go file.
    while len(list(tmp_path.glob("go.*"))) < len(children):
        assert all(c.poll() is None for c in children), [c.communicate() for c in children]
        time.sleep(0.05)
    go.touch()
    results = [c.communicate(timeout=300) for c in children]
    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err[-2000:]
        assert out.strip() == "ok ['news', 'shop']"
    again = subprocess.run([sys.executable, "-c", CHILD, str(go)], env=env, text=True,
                           capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (home / "dagster_home" / ".fleet-initialized").exists()
