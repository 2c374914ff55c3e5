"""``fleet status``: the fleet_health table, computed from the instance now."""

from __future__ import annotations

import argparse

from fleet_assets.cli.common import CliError, add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "status", "per-target fleet health (same table as fleet_health)")
    p.add_argument("--days", type=int, default=7, help="recent partition days per target")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fleet_assets.assets.health import configured_names, fleet_health_table
    from fleet_assets.lib.health import text_table
    from fleet_assets.resources import build_resources
    from fleet_assets.state.instance import get_instance

    if args.days < 1:
        # 0 or less printed every target as Idle, "never" run: a wrong answer, not an empty one.
        raise CliError(f"--days {args.days}: give at least 1")
    # The store keeps the history fold, so this reads only what happened since the last call.
    store = build_resources()["store"].get_store()
    # Names only: validating every target is `fleet check`'s job, and slow for a big fleet.
    rows = fleet_health_table(get_instance(), configured_names(), recent_dates=args.days,
                              store=store)
    print(f"fleet status: {len(rows)} target(s), last {args.days} partition day(s) each")
    print(text_table(rows))
    return 0
