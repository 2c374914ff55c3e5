"""What every command shares: dates as YYYY-MM-DD, day ranges, unknown targets named with the known."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from fleet_assets.cli.common import CliError, HelpFormatter, parse_date, recent_days, require_targets


def test_a_date_is_normalized_and_a_bad_one_names_the_option_and_the_format():
    assert parse_date("2025-06-10") == "2025-06-10"
    with pytest.raises(CliError, match=r"--end '10/06/2025': write dates as YYYY-MM-DD"):
        parse_date("10/06/2025", "--end")


def test_recent_days_end_at_the_given_day_oldest_first():
    assert recent_days("2025-03-01", 3) == ["2025-02-27", "2025-02-28", "2025-03-01"]


def test_recent_days_default_to_ending_yesterday():
    assert recent_days(None, 1) == [(dt.date.today() - dt.timedelta(days=1)).isoformat()]


def test_zero_days_is_refused_naming_the_option():
    with pytest.raises(CliError, match="--days 0: give at least 1"):
        recent_days("2025-03-01", 0)


def test_unknown_targets_are_named_with_the_known_ones(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEET_TARGETS", str(tmp_path / "t.yaml"))
    require_targets(["shop"], {"shop": None, "news": None})
    with pytest.raises(CliError) as err:
        require_targets(["zz", "shop", "aa"], {"shop": None, "news": None}, option="--only")
    assert str(err.value) == (f"--only aa, zz: not in {tmp_path / 't.yaml'} (known: news, shop)")
    with pytest.raises(CliError, match=r"\(known: none\)"):
        require_targets(["x"], {})


def test_help_shows_a_default_only_where_there_is_one():
    p = argparse.ArgumentParser(formatter_class=HelpFormatter)
    p.add_argument("--days", type=int, default=7, help="days")
    p.add_argument("--end", default=None, help="last day")
    p.add_argument("--dry", action="store_true", help="dry run")
    text = " ".join(p.format_help().split())
    assert "days (default: 7)" in text
    assert "last day (default" not in text and "dry run (default" not in text
