"""The `fleet` entry point: version, help with defaults, every command registered."""

from __future__ import annotations

import dagster as dg
import pytest

from fleet_assets.cli import main as cli


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


def test_every_command_is_registered():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert {"sandbox", "demo", "status", "sql", "export", "parse", "check", "verify", "backfill",
            "reset-circuit"} <= set(sub.choices)
