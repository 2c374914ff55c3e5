"""fleet: serve the sandbox, run the demo, query, check and export the data.

This module only builds the parser; each command lives in its own module (``demo.py``,
``sql.py``, ...) with ``add_parser(sub)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import warnings
from collections.abc import Sequence

from fleet_assets.cli import (
    backfill,
    check,
    demo,
    export,
    parse,
    reset,
    sandbox,
    sql,
    status,
    verify,
)
from fleet_assets.cli.common import CliError, HelpFormatter
from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.targets import TargetConfigError

COMMANDS = (sandbox, demo, status, sql, export, parse, check, verify, backfill, reset)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        ours = dist_version("fleet_assets")
    except PackageNotFoundError:
        ours = "unknown (not installed)"
    try:
        dagster = dist_version("dagster")
    except PackageNotFoundError:
        dagster = "not installed"
    return f"fleet {ours} (dagster {dagster})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fleet", description=__doc__.splitlines()[0],
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _silence_stdout() -> None:
    # The reader went away (`fleet sql ... | head`): drop what is still buffered, so the
    # interpreter's final flush does not raise a second BrokenPipeError.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    code = _run(argv)
    if argv is None:
        # The process ends right after: freezing the heap spares the interpreter a last full
        # collection of Dagster's object graph at exit (0.45 s after a bare import, ~1 s after
        # a demo run, measured). atexit handlers and flushes still run. Not for in-process
        # callers (tests pass ``argv``), whose objects must stay collectable.
        gc.freeze()
    return code


def _run(argv: Sequence[str] | None) -> int:
    # Dagster flags beta/preview APIs we use on purpose (partitioned checks); not news to a CLI user.
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except CliError as exc:
        print(f"fleet {args.command}: {exc}", file=sys.stderr)
        return 2
    except TargetConfigError as exc:
        print(f"fleet {args.command}: targets file: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # a bad FLEET_* value: its message names the variable and the fix
        print(f"fleet {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
