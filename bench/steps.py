"""What one run costs by executor: BENCHMARKS.md item 7.

    python -m bench.steps [--runs 2]

Materializes ``raw_pages``, ``extracted_records`` (with its checks) and ``daily_aggregates``
for one ``jobs`` partition of the sandbox with ``dagster asset materialize``, as a daemon,
backfill or sensor run executes it, each time in a fresh FLEET_HOME and DAGSTER_HOME: once
with the code location's executor as configured (``automation/jobs.py EXECUTOR``: in process
by default) and once with ``execution: {config: {multiprocess: {}}}`` (a process per step,
Dagster's own default). Prints one JSON line per alternated pair: the step processes each run
started, its wall time, the CPU of the CLI and every process it started, and the ratio of the
multiprocess run's CPU to the default's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fleet_assets.sandbox import SandboxProcess

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PARTITION = "2025-06-10|jobs"
REGISTER = ("import dagster as dg; from fleet_assets.state.instance import register_targets; "
            "register_targets(dg.DagsterInstance.get(), ['jobs'])")
MULTIPROCESS = '{"execution": {"config": {"multiprocess": {}}}}'


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def one_run(sandbox_url: str, command: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="fleet-steps-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "DAGSTER_"))}
        env.update(FLEET_HOME=f"{tmp}/home", DAGSTER_HOME=f"{tmp}/dagster_home",
                   FLEET_SANDBOX_URL=sandbox_url, FLEET_START_DATE="2025-01-01",
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        os.makedirs(env["DAGSTER_HOME"])
        subprocess.run([sys.executable, "-c", REGISTER], env=env, cwd=REPO, check=True)
        cpu, started = _children_cpu(), time.perf_counter()
        proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
        return {"step_processes": proc.stderr.count("STEP_WORKER_STARTING"),
                "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    default = [str(BIN / "dagster"), "asset", "materialize", "-m", "fleet_assets.definitions",
               "--select", "raw_pages,extracted_records,daily_aggregates", "--partition", PARTITION]
    multi = [*default, "--config-json", MULTIPROCESS]
    with SandboxProcess(proxies=0) as sandbox:
        pairs = []
        for _ in range(args.runs):  # alternated, so load from elsewhere falls on both sides
            pairs.append((one_run(sandbox.url, default), one_run(sandbox.url, multi)))
    for ours, multiprocess in pairs:
        print(json.dumps({"default": ours, "multiprocess": multiprocess,
                          "cpu_ratio": round(multiprocess["cpu_s"] / ours["cpu_s"], 2)}))


if __name__ == "__main__":
    main()
