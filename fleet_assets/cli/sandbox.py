"""``fleet sandbox``: serve the local adversarial web site and its proxies."""

from __future__ import annotations

import argparse

from fleet_assets.cli.common import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    from fleet_assets.sandbox.run import DEFAULT_PORT

    p = add_command(sub, "sandbox", "serve the local adversarial web site and proxies")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 = any free port")
    p.add_argument("--proxies", type=int, default=3, help="forward proxies to start")
    p.add_argument("--faults", help="fault knobs as JSON, e.g. '{\"transient_rate\": 0.2}'")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fleet_assets.sandbox.__main__ import main as sandbox_main

    argv = ["--port", str(args.port), "--proxies", str(args.proxies)]
    if args.faults:
        argv += ["--faults", args.faults]
    return sandbox_main(argv)
