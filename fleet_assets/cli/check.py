"""``fleet check [FILE]``: validate a targets file and print every error in it."""

from __future__ import annotations

import argparse
from pathlib import Path

from fleet_assets.cli.common import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "check", "validate a targets file (default $FLEET_TARGETS or targets.yaml) "
                    "and print every error in it")
    p.add_argument("file", nargs="?", help="the targets file to check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fleet_assets.lib.home import targets_path
    from fleet_assets.lib.targets import TargetConfigError, load_targets

    path = Path(args.file) if args.file else targets_path()
    try:
        targets = load_targets(path)
    except TargetConfigError as exc:
        errors = [str(exc)]
    else:
        errors = []
    if errors:
        print(f"{path}: {len(errors)} error(s)")
        for n, error in enumerate(errors, 1):
            print(f"  {n}. {error}")
        return 1
    print(f"{path}: ok, {len(targets)} target(s): {', '.join(targets)}")
    return 0
