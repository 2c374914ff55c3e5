"""The `fleet` commands' contract with a shell user: errors in one line, exit codes, help."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import dagster as dg
import pyarrow.parquet as pq
import pytest

from fleet_assets.cli import main as cli
from fleet_assets.settings import REPO_ROOT
from fleet_assets.state.circuit import circuit_state
from fleet_assets.state.instance import get_instance, register_targets


def _fleet(*argv: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "fleet_assets.cli.main", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_version_names_fleet_and_dagster(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("fleet ") and f"dagster {dg.__version__}" in out


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 7)" in out and "(default: 3)" in out
    assert "(default: None)" not in out


def test_every_command_is_registered():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert {"sandbox", "demo", "status", "sql", "export", "parse", "check", "verify", "backfill",
            "reset-circuit"} <= set(sub.choices)


def test_demo_with_an_unknown_target_is_an_error(fleet_env, capsys):
    assert cli.main(["demo", "--target", "nope", "--days", "1"]) == 2
    err = capsys.readouterr().err
    assert "fleet demo: --target nope: not in" in err and "known: jobs, news, shop" in err


def test_sql_error_is_one_line(fleet_env, capsys):
    assert cli.main(["sql", "SELEC 1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fleet sql: Parser Error:") and "\n" not in err
    assert "Traceback" not in err


def test_sql_into_a_closed_pipe_ends_quietly(fleet_env):
    proc = _fleet("sql", "SELECT * FROM range(300000)")
    assert proc.stdout.readline().strip() == b"range"
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 1


def test_reset_of_a_closed_circuit_is_refused(fleet_env, capsys):
    instance = get_instance()
    register_targets(instance, ["shop"])
    assert cli.main(["reset-circuit", "shop"]) == 2
    err = capsys.readouterr().err
    assert "circuit shop is closed" in err and "nothing to reset" in err
    assert circuit_state(get_instance(), "shop").status == "closed"
    assert cli.main(["reset-circuit", "nope"]) == 2
    assert "not a registered target" in capsys.readouterr().err


def test_export_writes_each_format(fleet_env, tmp_path, capsys):
    for fmt in ("parquet", "csv", "jsonl"):
        out = tmp_path / f"agg.{fmt}"
        assert cli.main(["export", "aggregates", "--format", fmt, "-o", str(out)]) == 0
        assert f"wrote 0 row(s) of aggregates to {out} ({fmt})" in capsys.readouterr().out
        assert out.exists()
    assert pq.read_table(tmp_path / "agg.parquet").column_names == ["target", "date", "metric", "value"]
    with open(tmp_path / "agg.csv") as f:
        assert next(csv.reader(f)) == ["target", "date", "metric", "value"]
    assert cli.main(["export", "nope"]) == 2
    assert "no table 'nope' in the warehouse" in capsys.readouterr().err


def test_export_filters_rows(fleet_env, sandbox, tmp_path, capsys):
    assert cli.main(["demo", "--target", "jobs", "--days", "1", "--end", "2025-06-10",
                     "--workers", "1"]) == 0
    capsys.readouterr()
    out = tmp_path / "jobs.jsonl"
    assert cli.main(["export", "records", "--format", "jsonl", "-o", str(out), "--target", "jobs",
                     "--from", "2025-06-10", "--to", "2025-06-10"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 15 and {r["target"] for r in rows} == {"jobs"}
    assert cli.main(["export", "records", "-o", str(tmp_path / "none.parquet"), "--target", "shop"]) == 0
    assert pq.read_table(tmp_path / "none.parquet").num_rows == 0


def test_check_passes_the_repository_targets(capsys):
    assert cli.main(["check", str(REPO_ROOT / "targets.yaml")]) == 0
    assert "3 target(s) OK: shop, news, jobs" in capsys.readouterr().out


def test_check_prints_every_mistake_of_a_file(tmp_path, capsys):
    bad = tmp_path / "targets.yaml"
    bad.write_text(
        "targets:\n"
        "  - name: Bad Name\n"                                 # 1. not a slug
        "    urls: ['http://127.0.0.1:1/a']\n"
        "    record:\n"
        "      fields: {title: {css: 'h1', type: text}}\n"     # 2. unknown field type
        "      required: [title]\n"
        "  - name: jobs\n"
        "    urls: ['http://127.0.0.1:1/b']\n"
        "    timeout_seconds: -5\n"                            # 3. a negative timeout
        "    record:\n"
        "      fields: {title: {css: 'h1', type: str}}\n"
        "      required: [title]\n"
    )
    assert cli.main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err, err
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 3, err
