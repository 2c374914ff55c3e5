"""`fleet status`: the fleet_health table for every configured target, from the instance now."""

from __future__ import annotations

import pytest

from fleet_assets.cli import main as cli
from fleet_assets.state.instance import get_instance, register_targets


def test_status_of_a_new_fleet_lists_every_configured_target_as_never_run(fleet_env, capsys):
    register_targets(get_instance(), ["shop"])
    assert cli.main(["status", "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fleet status: 3 target(s), last 3 partition day(s) each")
    table = out.splitlines()[1:]
    for name in ("shop", "news", "jobs"):
        assert any(line.split()[:1] == [name] for line in table), out


def test_status_with_a_bad_days_value_is_a_usage_error(fleet_env, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["status", "--days", "many"])
    assert exit_.value.code == 2
    assert "--days: invalid int value: 'many'" in capsys.readouterr().err
    assert cli.main(["status", "--days", "0"]) == 2  # it printed every target as never run
    assert "fleet status: --days 0: give at least 1" in capsys.readouterr().err
