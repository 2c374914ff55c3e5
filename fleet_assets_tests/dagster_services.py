"""``DagsterServices``: dagster-webserver and dagster-daemon on loopback for end-to-end tests.

Both run from this repository's workspace.yaml with a temporary DAGSTER_HOME holding the
repository's deploy/dagster.local.yaml, a temporary FLEET_HOME and the sandbox of the test session.
Ports are free ports on 127.0.0.1; ``stop`` ends exactly the processes started here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import requests

from fleet_assets.settings import LOCAL_INSTANCE_YAML, REPO_ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DagsterServices:
    def __init__(self, root: Path, sandbox_url: str, daemon: bool = True, startup_timeout: float = 120):
        self.root, self.sandbox_url, self.daemon = root, sandbox_url, daemon
        self.startup_timeout = startup_timeout
        self.fleet_home = root / "fleet_home"
        self.dagster_home = self.fleet_home / "dagster_home"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "DAGSTER_"))}
        env.update(FLEET_HOME=str(self.fleet_home), DAGSTER_HOME=str(self.dagster_home),
                   FLEET_SANDBOX_URL=self.sandbox_url, NO_PROXY="127.0.0.1,localhost",
                   # the tests' 2025 days must be partitions for the webserver and daemon too
                   FLEET_START_DATE=os.environ.get("FLEET_START_DATE", "2025-01-01"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        return env

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
        self.procs.append(subprocess.Popen(argv, cwd=REPO_ROOT, env=self.env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True))
        log.close()

    def start(self) -> DagsterServices:
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(LOCAL_INSTANCE_YAML, self.dagster_home / "dagster.yaml")
        # Create the SQLite schemas once: webserver and daemon would race to create them.
        with dg.DagsterInstance.from_config(str(self.dagster_home)) as instance:
            instance.get_runs(limit=1)
            instance.all_instigator_state()
        workspace = str(REPO_ROOT / "workspace.yaml")
        self._spawn("webserver", [str(BIN / "dagster-webserver"), "-w", workspace,
                                  "-h", "127.0.0.1", "-p", str(self.port)])
        if self.daemon:
            self._spawn("daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace])
        try:
            self._wait_until_loaded()
        except Exception:
            self.stop()
            raise
        return self

    def _wait_until_loaded(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        query = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a Dagster process exited early:\n{self.logs()}")
            try:
                data = requests.post(f"{self.url}/graphql", json={"query": query}, timeout=5,
                                     proxies={"http": "", "https": ""}).json()
                entries = data["data"]["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    return
            except (requests.RequestException, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"webserver not ready within {self.startup_timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.root.glob("*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # the process group started here, with its runs
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def __enter__(self) -> DagsterServices:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
