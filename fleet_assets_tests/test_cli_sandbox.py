"""`fleet sandbox`: a busy or impossible port is a one-line error naming the fix."""

from __future__ import annotations

import socket

from fleet_assets.cli import main as cli


def test_a_busy_port_names_the_fix_not_a_bind_traceback(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["sandbox", "--port", str(port), "--proxies", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fleet sandbox: --port {port}: ") and "--port 0 for any free port" in err
    assert "Traceback" not in err


def test_a_port_out_of_range_is_refused(capsys):
    assert cli.main(["sandbox", "--port", "99999"]) == 2
    assert "--port 99999: give 0 (any free port) or a port up to 65535" in capsys.readouterr().err


def test_bad_fault_knobs_are_named_with_an_example(capsys):
    assert cli.main(["sandbox", "--faults", "{bad"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fleet sandbox: --faults {bad: ") and "transient_rate" in err
    assert cli.main(["sandbox", "--faults", '{"nope": 1}']) == 2
    assert "unknown fault knobs ['nope']" in capsys.readouterr().err
