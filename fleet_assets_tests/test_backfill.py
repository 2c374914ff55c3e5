"""`fleet backfill` input checks: bad input fails before anything is launched, naming the fix."""

import pytest

from fleet_assets.cli import main as cli
from fleet_assets.cli.backfill import BackfillError, date_range
from fleet_assets_tests.dagster_services import free_port


def test_date_range_is_inclusive():
    assert date_range("2025-06-10", "2025-06-12", "2025-01-01") == ["2025-06-10", "2025-06-11", "2025-06-12"]


@pytest.mark.parametrize("start, end, message", [
    ("2025-06-12", "2025-06-10", "before --from 2025-06-12; swap them"),
    ("2024-12-31", "2025-01-02", "before the first partition 2025-01-01"),
    ("2025-06-10", "2999-01-01", "not a complete day yet"),
    ("June 10", "2025-06-12", "write dates as YYYY-MM-DD"),
])
def test_date_range_rejects_bad_input(start, end, message):
    with pytest.raises(BackfillError, match=message):
        date_range(start, end, "2025-01-01")


@pytest.mark.parametrize("argv, message", [
    (["--target", "nope"], "--target nope: not in"),
    (["--url", "http://127.0.0.1:{port}"], "no Dagster webserver at http://127.0.0.1:"),
])
def test_fleet_backfill_explains_bad_input_and_exits_2(argv, message, capsys):
    argv = [a.format(port=free_port()) for a in argv]
    assert cli.main(["backfill", "--from", "2025-06-10", "--to", "2025-06-11", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
