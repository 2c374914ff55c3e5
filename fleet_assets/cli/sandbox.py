"""``fleet sandbox``: serve the local adversarial web site and its proxies."""

from __future__ import annotations

import argparse
import errno

from fleet_assets.cli.common import CliError, add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    from fleet_assets.settings import SANDBOX_PORT  # not the sandbox: aiohttp is 0.2 s of import

    p = add_command(sub, "sandbox", "serve the local adversarial web site and proxies")
    p.add_argument("--port", type=int, default=SANDBOX_PORT, help="0 = any free port")
    p.add_argument("--proxies", type=int, default=3, help="forward proxies to start")
    p.add_argument("--faults", help="fault knobs as JSON, e.g. '{\"transient_rate\": 0.2}'")
    p.set_defaults(func=run)


def _check_faults(text: str) -> None:
    """Bad knobs as ``fleet sandbox: --faults ...`` with an example, like every other error."""
    import json

    from fleet_assets.sandbox.faults import Faults

    try:
        Faults.from_dict(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise CliError(f"--faults {text}: {exc}; write a JSON object, e.g. "
                       "'{\"transient_rate\": 0.2}'") from None


def run(args: argparse.Namespace) -> int:
    from fleet_assets.sandbox.__main__ import main as sandbox_main

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port {args.port}: give 0 (any free port) or a port up to 65535")
    argv = ["--port", str(args.port), "--proxies", str(args.proxies)]
    if args.faults:
        _check_faults(args.faults)
        argv += ["--faults", args.faults]
    try:
        return sandbox_main(argv)
    except OSError as exc:  # the bind: a traceback from aiohttp's create_server before
        hint = (" (another `fleet sandbox`, or `make dev`'s?); stop it" if exc.errno == errno.EADDRINUSE
                else "")
        raise CliError(f"--port {args.port}: {exc.strerror or exc}{hint}, or pass --port 0 for any "
                       "free port") from None
