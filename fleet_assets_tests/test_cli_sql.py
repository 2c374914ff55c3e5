"""`fleet sql`: an error in one line, a closed pipe ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys

from fleet_assets.cli import main as cli
from fleet_assets.settings import REPO_ROOT


def _fleet(*argv: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "fleet_assets.cli.main", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_sql_error_is_one_line(fleet_env, capsys):
    assert cli.main(["sql", "SELEC 1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fleet sql: Parser Error:") and "\n" not in err
    assert "Traceback" not in err


def test_sql_error_names_the_tables_or_that_the_warehouse_only_reads(fleet_env, capsys):
    assert cli.main(["sql", "SELECT * FROM recods"]) == 2
    err = capsys.readouterr().err.strip()
    assert "recods does not exist" in err and "tables: aggregates, records" in err and "\n" not in err
    assert cli.main(["sql", "CREATE TABLE x (a INT)"]) == 2
    assert "fleet sql only reads" in capsys.readouterr().err


def test_sql_into_a_closed_pipe_ends_quietly(fleet_env):
    proc = _fleet("sql", "SELECT * FROM range(300000)")
    assert proc.stdout.readline().strip() == b"range"
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 1


def test_an_empty_query_is_a_usage_error_not_a_traceback(fleet_env, capsys):
    assert cli.main(["sql", "  "]) == 2
    err = capsys.readouterr().err
    assert "fleet sql: give a query" in err and "Traceback" not in err
