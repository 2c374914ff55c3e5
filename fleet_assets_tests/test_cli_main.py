"""The `fleet` entry point: version, help with defaults, every command registered."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import dagster as dg
import pytest

from fleet_assets.cli import main as cli
from fleet_assets.settings import REPO_ROOT


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


def test_help_of_a_flag_shows_no_default(capsys):
    """`fleet backfill --help` said `--no-wait ... (default: True)`: the flag is off by default."""
    with pytest.raises(SystemExit):
        cli.main(["backfill", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: True)" not in out and "(default: False)" not in out
    assert "(default: 3600)" in out
    with pytest.raises(SystemExit):
        cli.main(["reset-circuit", "--help"])
    assert "(default: )" not in capsys.readouterr().out  # --note's empty default


def test_every_command_is_registered():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert {"sandbox", "demo", "status", "sql", "export", "parse", "check", "verify", "backfill",
            "reset-circuit"} <= set(sub.choices)


@pytest.mark.parametrize("variable, value", [("FLEET_START_DATE", "yesterday"), ("FLEET_ENV", "staging")])
def test_a_bad_setting_is_one_line_naming_it_not_a_traceback(variable, value, tmp_path):
    """A bad FLEET_* value ended in a ConfigError traceback (raised on import, in a subprocess)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "FLEET_HOME": str(tmp_path), variable: value}
    proc = subprocess.run([sys.executable, "-m", "fleet_assets.cli.main", "status"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"fleet status: {variable}={value!r}") and "Traceback" not in proc.stderr


def test_the_readme_fleet_commands_parse_and_its_backfill_dates_are_partitions():
    """The README showed `fleet backfill --from 2025-06-10`, before the first partition day."""
    from fleet_assets.cli.backfill import date_range
    from fleet_assets.settings import DEFAULT_START_DATE

    readme = (REPO_ROOT / "README.md").read_text().splitlines()
    argvs = [shlex.split(line.split("#", 1)[0])[1:] for line in readme
             if line.strip().startswith(".venv/bin/fleet ")]
    # Usage forms ([--repair], parquet|csv|jsonl, `backfill ...`, --help) are not runs.
    concrete = [a for a in argvs if not any(c in " ".join(a) for c in ("[", "|", "...", "--help"))]
    assert len(concrete) >= 7
    parser = cli.build_parser()
    for argv in concrete:
        args = parser.parse_args(argv)
        if args.command == "backfill":
            assert date_range(args.start, args.end, DEFAULT_START_DATE)
