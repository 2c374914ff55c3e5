"""``fleet check``: validate targets.yaml as data and print every problem, naming field and fix.

Reads ``FLEET_TARGETS`` (through ``settings.targets_path``) unless a path is given. Exit
status 0 when the file loads, 2 when it has problems (the same code as any config error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fleet_assets.lib.targets import load_targets, validate_targets_file


def cmd_check(args: argparse.Namespace) -> int:
    from fleet_assets.settings import targets_path

    path = args.path or targets_path()
    if args.path and not Path(path).exists():
        # The loader's hint (set FLEET_TARGETS) is about the default file, not a typed path.
        print(f"fleet check: {path}: no such file; check the path", file=sys.stderr)
        return 2
    problems = validate_targets_file(path)
    if problems:
        print(f"fleet check: {path}: {len(problems)} problem(s)", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    targets = load_targets(path)
    print(f"fleet check: {path}: {len(targets)} target(s) OK: {', '.join(targets)}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="validate targets.yaml and list every problem with its fix")
    p.add_argument("path", nargs="?", help="targets file (default $FLEET_TARGETS or targets.yaml)")
    p.set_defaults(func=cmd_check)
