"""`fleet reset-circuit`: refuses what there is nothing to reset, names what is unknown."""

from __future__ import annotations

from fleet_assets.cli import main as cli
from fleet_assets.state.circuit import circuit_state
from fleet_assets.state.instance import get_instance, register_targets


def test_reset_of_a_closed_circuit_is_refused(fleet_env, capsys):
    instance = get_instance()
    register_targets(instance, ["shop"])
    assert cli.main(["reset-circuit", "shop"]) == 2
    err = capsys.readouterr().err
    assert "circuit shop is closed" in err and "nothing to reset" in err
    assert circuit_state(get_instance(), "shop").status == "closed"
    assert cli.main(["reset-circuit", "nope"]) == 2
    assert "not a registered target" in capsys.readouterr().err


def test_reset_of_a_configured_target_that_never_ran_says_so(fleet_env, capsys):
    """It said "not a registered target partition ... check the spelling" for `shop`."""
    assert cli.main(["reset-circuit", "shop"]) == 2
    err = capsys.readouterr().err
    assert "shop has not run yet, so its circuit is closed: nothing to reset" in err
    assert "check the spelling" not in err
