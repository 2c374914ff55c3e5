"""``SandboxProcess``: the sandbox in a child process, for tests and benchmarks.

    with SandboxProcess(faults={"transient_rate": 0.2}, proxies=3) as sandbox:
        requests.get(sandbox.url + "/shop/2024-01-01/catalog")
        sandbox.set_faults({"reset_rate": 1.0})
        sandbox.stats()["by_status"]

The child binds port 0 by default and reports its ports through a port file, so parallel
test workers never collide. ``fleet demo`` asks for ``port_if_free(8787)`` instead: the
sandbox's URLs are part of every natural key, so a stable port makes a second demo find
every page already stored. Admin calls bypass any ``HTTP_PROXY`` in the environment.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def port_if_free(port: int, host: str = "127.0.0.1") -> int:
    """``port`` when nothing listens there, else 0 (the child then picks any free port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server does: a port in TIME_WAIT after the previous run is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return 0
    return port


class SandboxProcess:
    def __init__(
        self,
        faults: dict | None = None,
        proxies: int = 0,
        proxy_auth: tuple[str, str] | None = None,
        shop_items: int | None = None,
        startup_timeout: float = 20.0,
        port: int = 0,
    ):
        self.port = port
        self.faults = dict(faults or {})
        self.proxies = proxies
        self.proxy_auth = proxy_auth
        self.shop_items = shop_items
        self.startup_timeout = startup_timeout
        self.url = ""
        self.proxy_urls: list[str] = []
        self._proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start(self.port)
        except RuntimeError:
            if self.port == 0:
                raise
            self._start(0)  # the port was taken between the check and the bind

    def _start(self, port: int) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="fleet-sandbox-")
        port_file = Path(self._tmp.name) / "ports.json"
        log = open(Path(self._tmp.name) / "stderr.log", "wb")  # noqa: SIM115 - child owns it
        cmd = [
            sys.executable,
            "-m",
            "fleet_assets.sandbox",
            "--port",
            str(port),
            "--quiet",
            "--proxies",
            str(self.proxies),
            "--port-file",
            str(port_file),
            "--faults",
            json.dumps(self.faults),
        ]
        if self.proxy_auth:
            cmd += ["--proxy-auth", ":".join(self.proxy_auth)]
        if self.shop_items is not None:
            cmd += ["--shop-items", str(self.shop_items)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while not port_file.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                stderr = (Path(self._tmp.name) / "stderr.log").read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"sandbox did not start:\n{stderr[-2000:]}")
            time.sleep(0.02)
        ports = json.loads(port_file.read_text())
        self.url = ports["url"]
        self.proxy_urls = [self._with_auth(u) for u in ports["proxies"]]

    def _with_auth(self, url: str) -> str:
        if not self.proxy_auth:
            return url
        user, password = (urllib.request.quote(p, safe="") for p in self.proxy_auth)
        return url.replace("http://", f"http://{user}:{password}@", 1)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _admin(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + "/_admin/" + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with _NO_PROXY_OPENER.open(request, timeout=10) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self._admin("GET", "stats")

    def reset_stats(self) -> None:
        self._admin("POST", "reset-stats", {})

    def get_faults(self) -> dict:
        return self._admin("GET", "faults")

    def set_faults(self, faults: dict) -> dict:
        """Replace every knob (unlisted knobs return to off)."""
        return self._admin("POST", "faults", faults)
