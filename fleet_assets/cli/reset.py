"""``fleet reset-circuit TARGET``: after fixing targets.yaml, let a tripped target probe again."""

from __future__ import annotations

import argparse
import os

from fleet_assets.cli.common import CliError, add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "reset-circuit", "after fixing targets.yaml: move a target's open drift "
                    "circuit to half-open (its next partition is a probe)")
    p.add_argument("target")
    p.add_argument("--note", default="", help="why (kept with the reset event)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fleet_assets.cli.common import configured_targets
    from fleet_assets.state.circuit import (
        CLOSED,
        check_target_known,
        circuit_state,
        known_targets,
        reset_circuit,
    )
    from fleet_assets.state.instance import get_instance

    instance = get_instance()
    if args.target not in known_targets(instance) and args.target in configured_targets():
        # "not a registered target partition ... check the spelling" misled for a real target.
        raise CliError(f"{args.target} has not run yet, so its circuit is closed: nothing to reset")
    try:
        check_target_known(instance, args.target)
        current = circuit_state(instance, args.target)
        if current.status == CLOSED:
            # A reset of a closed circuit would make a healthy target's next run a probe.
            raise CliError(f"circuit {args.target} is closed ({current.reason}): nothing to reset; "
                           "a reset only follows a drift that opened the circuit")
        state = reset_circuit(instance, args.target, by=f"cli {os.environ.get('USER', '')}".strip(),
                              note=args.note)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(f"circuit {args.target}: {state.status} ({state.reason})")
    return 0
