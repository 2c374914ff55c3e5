"""`fleet verify`: the scan of a home from the shell, reported then repaired, exit codes."""

from fleet_assets.cli.main import main
from fleet_assets_tests.test_scan import _home


def test_fleet_verify_cli_reports_then_repairs(tmp_path, capsys):
    _home(tmp_path)
    assert main(["verify", "--home", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count("BAD ") == 3 and "content_sha256 mismatch" in out and "Parquet" in out
    assert main(["verify", "--home", str(tmp_path), "--repair"]) == 0
    assert "repaired 3" in capsys.readouterr().out
    assert main(["verify", "--home", str(tmp_path / "absent")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_fleet_verify_names_the_store_by_where_it_is(fleet_env, capsys):
    """It named the resource class ("LocalStoreResource: checked ...")."""
    fleet_env.mkdir(parents=True)
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"fleet verify: {fleet_env}: checked") and "Resource" not in out
