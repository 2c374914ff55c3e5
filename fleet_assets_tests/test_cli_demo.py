"""`fleet demo` as `make demo` runs it: quiet, idempotent across runs, and it says what failed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from fleet_assets.cli import main as cli
from fleet_assets.settings import REPO_ROOT
from fleet_assets.state.instance import get_instance
from fleet_assets_tests.dagster_services import free_port
from fleet_assets_tests.test_sensors import open_circuit

DEMO = ["demo", "--target", "jobs", "--days", "1", "--end", "2025-06-10", "--workers", "1"]


def _demo(port: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "fleet_assets.cli.main", *DEMO, "--sandbox-port",
                           str(port)], env=env, capture_output=True, text=True, timeout=600)


def test_a_second_demo_stores_nothing_new_and_no_run_prints_a_warning(fleet_env):
    port = free_port()
    first, second = _demo(port), _demo(port)
    for run in (first, second):
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"sandbox=http://127.0.0.1:{port}" in run.stdout
        output = run.stdout + run.stderr
        assert not re.search(r"warn", output, re.IGNORECASE), output
        assert "next steps:" in run.stdout and "make dev" in run.stdout and "fleet sql" in run.stdout
    assert "stored 15 new raw object(s)" in first.stdout
    assert "stored 0 new raw object(s)" in second.stdout, second.stdout
    assert "pages=15 new=0 records=15" in second.stdout
    assert "fleet parse jobs --date" in second.stdout  # the target it ran (it said shop)


def test_a_refused_partition_prints_its_reason(fleet_env, capsys):
    instance = get_instance()
    instance.add_dynamic_partitions("targets", ["jobs"])
    open_circuit(instance, "jobs", reason="drift on 2025-06-09")
    assert cli.main([*DEMO, "--sandbox-port", "0"]) == 1
    out, err = capsys.readouterr()
    [line] = [line for line in out.splitlines() if "FAILED" in line]
    assert "jobs" in line and "raw_pages: " in line and "circuit" in line, line
    # Its one line says it all; Dagster's ERROR lines and the Failure's traceback were printed too.
    assert "ERROR" not in err and "dagster._core" not in err, err
    assert "run " in line  # the run id, to find its logs in the UI
    assert 'Execution of step "raw_pages" failed.' not in line


def test_a_drifted_partition_fails_with_the_check_that_failed(fleet_env, sandbox):
    from fleet_assets.cli.launch import INGEST, materialize_partition

    sandbox.set_faults({"drift_from": {"jobs": "2025-06-01"}})
    get_instance().add_dynamic_partitions("targets", ["jobs"])
    run = materialize_partition("2025-06-10", "jobs", INGEST)
    assert not run.success
    assert run.error.startswith("check "), run.error
    assert "Execution of step" not in run.error


def test_demo_outside_the_partition_days_names_the_range_not_a_traceback(fleet_env, capsys,
                                                                         monkeypatch):
    monkeypatch.setenv("FLEET_START_DATE", "2025-01-01")
    assert cli.main(["demo", "--end", "2024-06-01", "--days", "1"]) == 2
    err = capsys.readouterr().err
    assert "--end 2024-06-01 is before the first partition day 2025-01-01" in err
    assert "FLEET_START_DATE" in err and "Traceback" not in err
    assert cli.main(["demo", "--end", "2999-01-01", "--days", "1"]) == 2
    assert "--end 2999-01-01 is not a complete day yet" in capsys.readouterr().err


def test_demo_with_an_unknown_target_is_an_error(fleet_env, capsys):
    assert cli.main(["demo", "--target", "nope", "--days", "1"]) == 2
    err = capsys.readouterr().err
    assert "fleet demo: --target nope: not in" in err and "known: jobs, news, shop" in err


def test_only_targets_that_point_at_the_sandbox_start_it(tmp_path, monkeypatch):
    from fleet_assets.cli.demo import uses_sandbox
    from fleet_assets.lib.targets import load_targets

    monkeypatch.delenv("FLEET_SANDBOX_URL", raising=False)
    repo = load_targets(REPO_ROOT / "targets.yaml")
    assert uses_sandbox(repo, ["shop"]) and uses_sandbox(repo, ["jobs", "news"])
    path = tmp_path / "targets.yaml"
    path.write_text("""
targets:
  - name: docs
    urls: ["http://127.0.0.1:9/{date}/a.html"]
    record: {fields: {title: {css: h1}}, required: [title]}
  - name: literal
    urls: ["http://127.0.0.1:8787/shop/{date}/item/1"]
    record: {fields: {title: {css: h1}}, required: [title]}
  - name: lookalike
    urls: ["http://127.0.0.1:8788/x", "http://127.0.0.1:87/x"]
    record: {fields: {title: {css: h1}}, required: [title]}
""")
    mine = load_targets(path)
    assert not uses_sandbox(mine, ["docs"]) and not uses_sandbox(mine, ["lookalike"])
    assert uses_sandbox(mine, ["literal"])  # the default sandbox URL written out
    assert uses_sandbox({**repo, **mine}, ["docs", "shop"])
    monkeypatch.setenv("FLEET_SANDBOX_URL", "http://127.0.0.1:9")  # a sandbox elsewhere
    assert uses_sandbox(mine, ["docs"]) and not uses_sandbox(mine, ["literal"])


def test_a_demo_of_another_site_does_not_start_the_sandbox(fleet_env, tmp_path, monkeypatch,
                                                           capsys):
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import fleet_assets.sandbox.process as sandbox_process

    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text("<html><h1>Real page</h1></html>")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    (tmp_path / "targets.yaml").write_text(f"""
targets:
  - name: site
    urls: ["{url}/a.html?day={{date}}"]
    record: {{fields: {{title: {{css: h1}}}}, required: [title]}}
    politeness: {{obey_robots: false}}
""")
    monkeypatch.setenv("FLEET_TARGETS", str(tmp_path / "targets.yaml"))
    monkeypatch.setenv("FLEET_START_DATE", "2025-01-01")

    def refuse(*a, **kw):
        raise AssertionError("the sandbox was started for a target that does not use it")

    monkeypatch.setattr(sandbox_process.SandboxProcess, "__init__", refuse)
    try:
        assert cli.main(["demo", "--target", "site", "--days", "1", "--end", "2025-06-10",
                         "--workers", "1"]) == 0
    finally:
        server.shutdown()
    out = capsys.readouterr().out
    assert "sandbox=not started (no selected target uses it)" in out
    assert "pages=1 new=1 records=1" in out, out
